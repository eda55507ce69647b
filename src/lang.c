/* lang.c - language detection by stop words (see lang.h).
 *
 * Function words are the cheapest reliable signal for short mail: a few
 * dozen per language cover a large share of any text, and they need no
 * model file. Words shared by several languages count for each of them;
 * the distinctive ones decide. */
#include "compat.h"

#include <pthread.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "lang.h"

const char *const lang_codes[] = { "en", "de", "fr", "it", "es", "nl", "pt", "pl", "et", NULL };

/* One string per language, in lang_codes order: space-separated lowercase. */
static const char *const lang_words[] = {
	/* en */
	"the of and to in is that for it with as was on be are this by not from at or "
	"have an but which you they we would there their been has will can if my our "
	"your about please could should i me do does what when who how thank thanks "
	"dear regards kind hello looking forward information regarding",
	/* de */
	"der die das und ist nicht ich sie es zu den mit sich des auf für dem ein eine "
	"einer eines wir ihr auch als an noch nach wie bei oder aus wenn um über sind "
	"haben hat wird werden können könnten bitte vielen dank sehr geehrte geehrter "
	"damen herren grüßen grüße freundlichen mit im zum zur gibt uns unser unsere "
	"möchte möchten ob ihre ihnen",
	/* fr */
	"le la les et des est un une du que qui dans pour pas sur au avec ce cette "
	"ces sont nous vous je il elle mais ou où par plus aux leur leurs été être "
	"avons avez merci madame monsieur bonjour cordialement salutations votre vos "
	"notre nos concernant pourriez serait très",
	/* it */
	"il lo la gli le di che è e un una per non con sono del della delle dei degli "
	"nel nella alla al ai si come anche ma più questo questa ho ha abbiamo avete "
	"grazie gentile gentili saluti cordiali buongiorno vorrei potreste sarebbe "
	"nostro nostra vostro vostra essere stato informazioni",
	/* es */
	"el la los las de que y en un una es por con no para del al lo se su sus como "
	"más pero este esta estos ser ha hay muy también gracias estimado estimada "
	"estimados saludos cordiales buenos días quisiera podrían nuestro nuestra "
	"nosotros usted ustedes información sobre desde",
	/* nl */
	"de het een en van is dat in op te zijn voor met niet er aan ook als bij om "
	"maar uit nog wij we ik u uw ons onze naar heeft hebben worden wordt kunnen "
	"zou graag vriendelijke groet groeten geachte beste dank bedankt over deze dit",
	/* pt */
	"o a os as de que e do da dos das em um uma para com não por no na nos nas "
	"se mais como mas ao à é são foi ser tem muito também obrigado obrigada "
	"prezado prezada prezados cumprimentos atenciosamente gostaria poderiam "
	"nosso nossa vocês informações sobre está estão",
	/* pl */
	"i w z na się nie do że to jest jak o po co ale za od jako przez dla są czy "
	"tak już może być był jestem mamy bardzo dziękuję dzień dobry szanowni "
	"szanowny szanowna państwo pozdrawiam pozdrowienia uprzejmie chciałbym "
	"chciałabym informacje dotyczące naszego nasz nasza oraz także",
	/* et */
	"ja on ei see et ka oli kui mis ta nad me te ma mina sina seda selle oma "
	"aga või siis veel ning olen oleme olete kas palun tänan aitäh lugupeetud "
	"tere parimate soovidega kohta meie teie mulle sooviksin võiksite samuti "
	"projekti taotlus",
};

#define NLANG (ARRAY_SIZE(lang_words))
#define WORD_MAX LANG_WORD_MAX

struct lang_entry {
	char word[WORD_MAX];
	unsigned mask; /* bit i: language lang_codes[i] */
};

/* The words in an open-addressing hash table (a text's words are looked up
 * one by one: a probe or two each instead of a binary search's ten string
 * comparisons). Slots hold an entry index + 1, 0 when empty. */
#define SLOTS 4096
static struct lang_entry entries[1024];
static uint16_t slots[SLOTS];
/* A quick no: bit (length, first byte, last byte) of every word, so that
 * most words of a text that are no stop word cost no copy and no probe. */
#define SHAPES 8192
static uint8_t shapes[SHAPES / 8];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

/* A word character: ASCII letters and every byte of a multibyte UTF-8
 * sequence (accented letters). Digits and punctuation separate words.
 * A table: the scan of a long text does one load a byte. */
static uint8_t word_byte[256];

static void
word_byte_build(void)
{
	for (int c = 0; c < 256; c++)
		word_byte[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

static uint32_t
word_hash(const char *w, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)w[i]) * 16777619u;
	return h;
}

static uint32_t
shape(size_t len, unsigned char first, unsigned char last)
{
	return ((uint32_t)len * 977u + first * 131u + last) & (SHAPES - 1);
}

/* Built once: every word with the set of languages that use it. The table
 * lives for the whole process (it is small and read-only after this). */
static void
table_build(void)
{
	size_t n = 0;

	word_byte_build();
	for (size_t l = 0; l < NLANG; l++) {
		const char *p = lang_words[l];

		while (*p) {
			size_t len = strcspn(p, " ");
			size_t i;

			if (len > 0 && len < WORD_MAX && n < ARRAY_SIZE(entries)) {
				for (i = 0; i < n; i++)
					if (strlen(entries[i].word) == len &&
					    memcmp(entries[i].word, p, len) == 0)
						break;
				if (i == n) {
					memcpy(entries[n].word, p, len);
					entries[n].word[len] = '\0';
					entries[n].mask = 0;
					n++;
				}
				entries[i].mask |= 1u << l;
			}
			p += len;
			while (*p == ' ')
				p++;
		}
	}
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(entries[i].word);
		uint32_t h = word_hash(entries[i].word, len) & (SLOTS - 1);
		uint32_t sh = shape(len, (unsigned char)entries[i].word[0],
				    (unsigned char)entries[i].word[len - 1]);

		shapes[sh >> 3] |= (uint8_t)(1u << (sh & 7));

		while (slots[h])
			h = (h + 1) & (SLOTS - 1);
		slots[h] = (uint16_t)(i + 1);
	}
}

static const struct lang_entry *
table_find(const char *w, size_t len)
{
	uint32_t h = word_hash(w, len) & (SLOTS - 1);

	for (; slots[h]; h = (h + 1) & (SLOTS - 1)) {
		const struct lang_entry *e = &entries[slots[h] - 1];

		if (memcmp(e->word, w, len) == 0 && e->word[len] == '\0')
			return e;
	}
	return NULL;
}

/* Lowercases the common uppercase letters of the languages known here
 * (ASCII and Latin-1 À-Þ, two-byte sequences C3 80-9E). */
static size_t
word_lower(const char *w, size_t len, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 1 < WORD_MAX; i++) {
		unsigned char c = (unsigned char)w[i];

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		else if (c == 0xc3 && i + 1 < len && (unsigned char)w[i + 1] >= 0x80 &&
			 (unsigned char)w[i + 1] <= 0x9e && (unsigned char)w[i + 1] != 0x97) {
			if (o + 2 >= WORD_MAX)
				break;
			out[o++] = (char)c;
			out[o++] = (char)((unsigned char)w[i + 1] + 0x20);
			i++;
			continue;
		}
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return o;
}

/* The first LANG_MAX_SCAN bytes of head (and "\n" text when text is not
 * NULL) copied to lo with ASCII capitals lowercased, NULs after them, and
 * their word bytes (word_byte[]) as bits, bit i of bits[i / 64]: the scan
 * then goes from word to word (a count of trailing zeros each), not byte
 * to byte with a branch each that the ends of words make hard to guess.
 * bits has LANG_BITS words, the last one 0 (the end of any word). Returns
 * the bytes copied. */
#define LANG_BITS (LANG_MAX_SCAN / 64 + 1)
#define LANG_PAD 16

static size_t
sample_copy(unsigned char *lo, const char *head, size_t hlen, const char *text, size_t len)
{
	size_t n = hlen < LANG_MAX_SCAN ? hlen : LANG_MAX_SCAN;

	memcpy(lo, head, n);
	if (text && n < LANG_MAX_SCAN) {
		lo[n++] = '\n';
		if (len > LANG_MAX_SCAN - n)
			len = LANG_MAX_SCAN - n;
		memcpy(lo + n, text, len);
		n += len;
	}
	memset(lo + n, 0, LANG_PAD);
	return n;
}

static void
sample_bits(unsigned char *lo, size_t n, uint64_t *bits)
{
	size_t i = 0;

	memset(bits, 0, LANG_BITS * sizeof(*bits));
#if defined(__SSE2__)
	{
		/* signed compares: a byte beyond ASCII is below them all */
		const __m128i cap0 = _mm_set1_epi8('A' - 1), cap1 = _mm_set1_epi8('Z' + 1);
		const __m128i low0 = _mm_set1_epi8('a' - 1), low1 = _mm_set1_epi8('z' + 1);
		const __m128i bit5 = _mm_set1_epi8(0x20);

		/* whole blocks: the NULs after the text are no word bytes */
		for (; i < n; i += 16) {
			__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(lo + i));
			unsigned m;

			v = _mm_or_si128(v, _mm_and_si128(_mm_and_si128(_mm_cmpgt_epi8(v, cap0),
									 _mm_cmplt_epi8(v, cap1)),
							  bit5));
			_mm_storeu_si128((__m128i *)(void *)(lo + i), v);
			m = (unsigned)_mm_movemask_epi8(v) |
			    (unsigned)_mm_movemask_epi8(
				    _mm_and_si128(_mm_cmpgt_epi8(v, low0), _mm_cmplt_epi8(v, low1)));
			bits[i / 64] |= (uint64_t)m << (i % 64);
		}
	}
#endif
	for (; i < n; i++) {
		if (lo[i] >= 'A' && lo[i] <= 'Z')
			lo[i] = (unsigned char)(lo[i] + 32);
		if (word_byte[lo[i]])
			bits[i / 64] |= 1ull << (i % 64);
	}
}

/* The first set (when set) or clear bit of bits at or after pos; a set one
 * not before limit is limit. bits' last word (0) ends any run of set ones. */
static size_t
bits_next(const uint64_t *bits, size_t pos, bool set, size_t limit)
{
	size_t w = pos / 64;
	uint64_t flip = set ? 0 : ~0ull;
	uint64_t x = (bits[w] ^ flip) & (~0ull << (pos % 64));

	while (!x) {
		if (++w >= LANG_BITS)
			return limit;
		x = bits[w] ^ flip;
	}
	pos = w * 64 + (size_t)__builtin_ctzll(x);
	return pos < limit ? pos : limit;
}

static const char *
detect(const char *head, size_t hlen, const char *text, size_t len, int *score_r)
{
	int score[NLANG] = { 0 };
	unsigned char lo[LANG_MAX_SCAN + LANG_PAD];
	uint64_t bits[LANG_BITS];
	size_t n, i = 0, best = 0, second = 0;

	if (score_r)
		*score_r = 0;
	if (!head)
		return NULL;
	pthread_once(&table_once, table_build);
	n = sample_copy(lo, head, hlen, text, len);
	sample_bits(lo, n, bits);
	while (i < n) {
		size_t start = bits_next(bits, i, true, n), wlen;
		const unsigned char *word = lo + start;
		const struct lang_entry *hit;
		char w[WORD_MAX];

		if (start >= n)
			break;
		i = bits_next(bits, start, false, n);
		wlen = i - start;
		if (wlen >= WORD_MAX)
			continue;
		{
			/* the word's shape as word_lower() would give it (its
			 * ASCII is lowercased already); a last byte beyond ASCII
			 * may be folded: no quick no */
			unsigned char l = word[wlen - 1];
			uint32_t sh = shape(wlen, word[0], l);

			if (l < 0x80 && !(shapes[sh >> 3] & (1u << (sh & 7))))
				continue;
		}
		if (memchr(word, 0xc3, wlen)) {
			wlen = word_lower((const char *)word, wlen, w);
			hit = table_find(w, wlen);
		} else {
			/* nothing word_lower() would change */
			hit = table_find((const char *)word, wlen);
		}
		if (!hit)
			continue;
		for (size_t l = 0; l < NLANG; l++)
			if (hit->mask & (1u << l))
				score[l]++;
	}
	for (size_t l = 1; l < NLANG; l++)
		if (score[l] > score[best])
			best = l;
	second = best == 0 ? 1 : 0;
	for (size_t l = 0; l < NLANG; l++)
		if (l != best && score[l] > score[second])
			second = l;
	if (score_r)
		*score_r = score[best];
	/* Two known words at least, and a clear lead: a greeting alone or a
	 * tie between neighbours (es/pt, it/es) is no answer. */
	if (score[best] < 2 || score[best] <= score[second])
		return NULL;
	return lang_codes[best];
}

unsigned
lang_word_langs(const char *word, size_t len)
{
	char w[WORD_MAX];
	const struct lang_entry *hit;

	if (len >= WORD_MAX)
		return 0;
	pthread_once(&table_once, table_build);
	len = word_lower(word, len, w);
	hit = table_find(w, len);
	return hit ? hit->mask : 0;
}

const char *
lang_detect(const char *text, size_t len, int *score_r)
{
	return detect(text, len, NULL, 0, score_r);
}

const char *
lang_detect_joined(const char *head, size_t hlen, const char *text, size_t len, int *score_r)
{
	return detect(head ? head : "", head ? hlen : 0, text ? text : "", text ? len : 0,
		      score_r);
}
