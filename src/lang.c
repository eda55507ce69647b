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
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_AVX2_PATH 1
#endif

#include "lang.h"
#include "unaligned.h"

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
/* A word's first and last eight bytes with its length tell it from any
 * other up to twice that long; a longer one is compared whole. */
#define WORD_KEYED 16

/* The scores of all the languages, a 16-bit lane each (a sample has fewer
 * than 65,536 words), added for a word in one go. */
#define SCORE_LANES ((NLANG + 3) / 4)

struct lang_entry {
	uint64_t k0, k1; /* word_keys() */
	uint64_t len;
	uint64_t inc[SCORE_LANES]; /* 1 in the lane of each language that uses it */
};

/* What the scan does not need, apart: the word and its languages. */
struct lang_word {
	char word[8 + WORD_MAX + 8]; /* at word + 8, NULs around: word_keys() reads
					 eight bytes before its end and after it */
	unsigned mask;           /* bit i: language lang_codes[i] */
};

/* The words in an open-addressing hash table: a text's words are looked up
 * one by one, most with one probe. Slots hold an entry index, 0 for none:
 * entries[0] is no word (its keys match none: a word's k0 is not 0) and
 * adds nothing, so that neither a miss nor a hit costs a branch that the
 * text decides. */
#define SLOTS 4096
static struct lang_entry entries[1024];
static struct lang_word words[1024];
static uint16_t slots[SLOTS];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;
/* A quick no: bit (length, first byte, last byte) of every word, so that
 * most words of a text that are no stop word cost no look-up. Exact: the
 * sample is lowercased as the words are (sample_bits()), any byte of it. */
#define SHAPES 8192
static uint8_t shapes[SHAPES / 8];

static inline uint32_t
shape(size_t len, unsigned char first, unsigned char last)
{
	return ((uint32_t)len * 977u + first * 131u + last) & (SHAPES - 1);
}

/* A word character: ASCII letters and every byte of a multibyte UTF-8
 * sequence (accented letters). Digits and punctuation separate words. */
static uint8_t word_byte[256];

static void
word_byte_build(void)
{
	for (int c = 0; c < 256; c++)
		word_byte[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

/* The keys of the len bytes at w (len >= 1; eight more bytes readable,
 * and eight before w + len): the first eight bytes (those of a shorter
 * word, the rest 0) and, past eight, the last eight (else 0). Without a
 * branch: the length of the text's words is hard to guess. */
static inline void
word_keys(const unsigned char *w, size_t len, uint64_t *k0, uint64_t *k1)
{
	size_t short8 = len < 8 ? len : 8;
	uint64_t x = load8(w), y = load8(w + short8 - 8 + (len - short8));

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	*k0 = x & ~(~0ull >> (8 * short8 - 1) >> 1);
#else
	*k0 = x & (~0ull >> (64 - 8 * short8));
#endif
	*k1 = len > 8 ? y : 0;
}

static inline uint32_t
word_hash(uint64_t k0, uint64_t k1, size_t len)
{
	uint64_t h = (k0 + len) * 0x9e3779b97f4a7c15ull ^ k1 * 0xc2b2ae3d27d4eb4full;

	return (uint32_t)(h >> 52) & (SLOTS - 1);
}

/* Built once: every word with the set of languages that use it. The table
 * lives for the whole process (it is small and read-only after this). */
static void
table_build(void)
{
	size_t n = 1;

	word_byte_build();
	for (size_t l = 0; l < NLANG; l++) {
		const char *p = lang_words[l];

		while (*p) {
			size_t len = strcspn(p, " ");
			size_t i;

			if (len > 0 && len < WORD_MAX && n < ARRAY_SIZE(entries)) {
				for (i = 1; i < n; i++)
					if (entries[i].len == len && memcmp(words[i].word + 8, p, len) == 0)
						break;
				if (i == n) {
					memcpy(words[n].word + 8, p, len);
					entries[n].len = len;
					n++;
				}
				words[i].mask |= 1u << l;
				entries[i].inc[l / 4] |= 1ull << (16 * (l % 4));
			}
			p += len;
			while (*p == ' ')
				p++;
		}
	}
	for (size_t i = 1; i < n; i++) {
		struct lang_entry *e = &entries[i];
		uint32_t h;

		word_keys((const unsigned char *)words[i].word + 8, e->len, &e->k0, &e->k1);
		{
			uint32_t sh = shape(e->len, (unsigned char)words[i].word[8],
					    (unsigned char)words[i].word[8 + e->len - 1]);

			shapes[sh >> 3] |= (uint8_t)(1u << (sh & 7));
		}
		h = word_hash(e->k0, e->k1, e->len);
		while (slots[h])
			h = (h + 1) & (SLOTS - 1);
		slots[h] = (uint16_t)i;
	}
}

/* The entry of the word of len bytes at w (lowercased as word_lower()
 * does; eight more bytes readable, and eight before w + len), or
 * entries[0]. */
static inline const struct lang_entry *
table_find(const unsigned char *w, size_t len)
{
	uint64_t k0, k1;
	uint32_t h;
	const struct lang_entry *e;

	word_keys(w, len, &k0, &k1);
	h = word_hash(k0, k1, len);
	e = &entries[slots[h]];
	/* most words either are in their first slot or find it empty */
	for (;;) {
		bool same = ((e->k0 ^ k0) | (e->k1 ^ k1) | (e->len ^ len)) == 0;

		/* one branch the text does not decide: found or empty */
		if (__builtin_expect(same | (e == entries), 1) &&
		    (!(same & (len > WORD_KEYED)) || memcmp(words[e - entries].word + 8, w, len) == 0))
			return e;
		h = (h + 1) & (SLOTS - 1);
		e = &entries[slots[h]];
	}
}

/* Lowercases the common uppercase letters of the languages known here
 * (ASCII and Latin-1 À-Þ, two-byte sequences C3 80-9E but for C3 97 ×):
 * what a word is looked up as. The scan does the same to the whole sample
 * at once (sample_bits()); this is the reference (lang_word_langs()). */
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
 * NULL) copied to lo, NULs after them. Returns the bytes copied. */
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

/* Lowercases lo[0 .. n-1] in place as word_lower() lowercases each word:
 * ASCII capitals, and a byte 80-9E but 97 after a C3 (C3 is a word byte
 * and no byte becomes or stops being C3, so the pairs are those that
 * word_lower() makes, left to right inside each word; lo[-1] is readable
 * and not C3); and sets in bits (LANG_BITS words, the last one left 0: the
 * end of any word) the word bytes (word_byte[]), bit i of bits[i / 64].
 * The scan then goes from word to word (a count of trailing zeros each),
 * not byte to byte with a branch at each word's end. */
#if defined(HAVE_AVX2_PATH)
/* sample_bits()' pass thirty-two bytes at a time, on a CPU with AVX2
 * (asked at run time: the build is for any x86-64), over the whole blocks
 * of lo[0 .. n-1]. Returns the bytes done. */
__attribute__((target("avx2"))) static size_t
sample_bits_avx2(unsigned char *lo, size_t n, uint64_t *bits)
{
	/* signed compares: a byte beyond ASCII is below them all */
	const __m256i cap0 = _mm256_set1_epi8('A' - 1), cap1 = _mm256_set1_epi8('Z' + 1);
	const __m256i low0 = _mm256_set1_epi8('a' - 1), low1 = _mm256_set1_epi8('z' + 1);
	const __m256i bit5 = _mm256_set1_epi8(0x20), c3 = _mm256_set1_epi8((char)0xc3);
	const __m256i lat1 = _mm256_set1_epi8((char)0x9f), times = _mm256_set1_epi8((char)0x97);
	/* the block before, as it was (lo[-1] is no C3) */
	__m256i last = _mm256_setzero_si256();
	size_t i = 0;

	for (; i + 32 <= n; i += 32) {
		__m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(lo + i));
		/* each byte's previous one: the lanes joined, then shifted */
		__m256i prev = _mm256_alignr_epi8(v, _mm256_permute2x128_si256(last, v, 0x21), 15);
		__m256i up;
		uint64_t m;

		last = v;
		up = _mm256_and_si256(_mm256_cmpgt_epi8(v, cap0), _mm256_cmpgt_epi8(cap1, v));
		/* 80-9E are the signed bytes below 9F */
		up = _mm256_or_si256(up, _mm256_andnot_si256(_mm256_cmpeq_epi8(v, times),
							     _mm256_and_si256(_mm256_cmpeq_epi8(prev, c3),
									      _mm256_cmpgt_epi8(lat1, v))));
		v = _mm256_add_epi8(v, _mm256_and_si256(up, bit5));
		_mm256_storeu_si256((__m256i *)(void *)(lo + i), v);
		m = (uint32_t)_mm256_movemask_epi8(v) |
		    (uint32_t)_mm256_movemask_epi8(
			    _mm256_and_si256(_mm256_cmpgt_epi8(v, low0), _mm256_cmpgt_epi8(low1, v)));
		bits[i / 64] |= m << (i % 64);
	}
	return i;
}
#endif

static void
sample_bits(unsigned char *lo, size_t n, uint64_t *bits)
{
	size_t i = 0;

	memset(bits, 0, LANG_BITS * sizeof(*bits));
#if defined(HAVE_AVX2_PATH)
	if (n >= 64 && __builtin_cpu_supports("avx2"))
		i = sample_bits_avx2(lo, n, bits);
#endif
#if defined(__SSE2__)
	{
		/* signed compares: a byte beyond ASCII is below them all */
		const __m128i cap0 = _mm_set1_epi8('A' - 1), cap1 = _mm_set1_epi8('Z' + 1);
		const __m128i low0 = _mm_set1_epi8('a' - 1), low1 = _mm_set1_epi8('z' + 1);
		const __m128i bit5 = _mm_set1_epi8(0x20), c3 = _mm_set1_epi8((char)0xc3);
		const __m128i lat1 = _mm_set1_epi8((char)0x9f), times = _mm_set1_epi8((char)0x97);

		/* the block before, as it was: C3 bytes stay as they are (and
		 * a load of lo + i - 1 each block would wait for the store
		 * before it); after the AVX2 pass, as it left them */
		__m128i last = i ? _mm_loadu_si128((const __m128i *)(const void *)(lo + i - 16))
				 : _mm_setzero_si128();

		/* whole blocks: the NULs after the text are no word bytes */
		for (; i < n; i += 16) {
			__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(lo + i));
			__m128i prev = _mm_or_si128(_mm_slli_si128(v, 1), _mm_srli_si128(last, 15));
			__m128i up;
			unsigned m;

			last = v;
			up = _mm_and_si128(_mm_cmpgt_epi8(v, cap0), _mm_cmplt_epi8(v, cap1));
			/* 80-9E are the signed bytes below 9F */
			up = _mm_or_si128(up, _mm_andnot_si128(_mm_cmpeq_epi8(v, times),
							       _mm_and_si128(_mm_cmpeq_epi8(prev, c3),
									     _mm_cmplt_epi8(v, lat1))));
			v = _mm_add_epi8(v, _mm_and_si128(up, bit5));
			_mm_storeu_si128((__m128i *)(void *)(lo + i), v);
			m = (unsigned)_mm_movemask_epi8(v) |
			    (unsigned)_mm_movemask_epi8(
				    _mm_and_si128(_mm_cmpgt_epi8(v, low0), _mm_cmplt_epi8(v, low1)));
			bits[i / 64] |= (uint64_t)m << (i % 64);
		}
	}
#endif
	for (; i < n; i++) {
		unsigned char c = lo[i];

		if (c >= 'A' && c <= 'Z')
			lo[i] = (unsigned char)(c + 32);
		else if (lo[i - 1] == 0xc3 && c >= 0x80 && c <= 0x9e && c != 0x97)
			lo[i] = (unsigned char)(c + 0x20);
		if (word_byte[c])
			bits[i / 64] |= 1ull << (i % 64);
	}
}

/* Counts the word lo[start .. end-1] for the languages that use it. */
static inline void
count_word(uint64_t *acc, const unsigned char *lo, size_t start, size_t end)
{
	const struct lang_entry *hit;

	uint32_t sh;

	if (end - start >= WORD_MAX)
		return;
	sh = shape(end - start, lo[start], lo[end - 1]);
	if (!(shapes[sh >> 3] & (1u << (sh & 7))))
		return;
	hit = table_find(lo + start, end - start);
	for (size_t k = 0; k < SCORE_LANES; k++)
		acc[k] += hit->inc[k];
}

static const char *
detect(const char *head, size_t hlen, const char *text, size_t len, int *score_r)
{
	int score[NLANG];
	uint64_t acc[SCORE_LANES] = { 0 };
	/* eight bytes before the sample: word_keys() reads them for a short
	 * word at its start (and sample_bits() the one before it) */
	unsigned char buf[8 + LANG_MAX_SCAN + LANG_PAD], *lo = buf + 8;
	uint64_t bits[LANG_BITS], carry = 0;
	size_t n, open = SIZE_MAX, best = 0, second = 0;

	if (score_r)
		*score_r = 0;
	if (!head)
		return NULL;
	pthread_once(&table_once, table_build);
	memset(buf, 0, 8);
	n = sample_copy(lo, head, hlen, text, len);
	sample_bits(lo, n, bits);
	/* Word to word, a 64-byte block of bits at a time: the bytes that
	 * open a word and those that follow one, paired in order (a word
	 * open at the end of a block ends in a later one). Each word costs a
	 * count of zeros and no branch that its length decides, and its
	 * look-up waits for no other. The block of bit n (0: lo[n] is a NUL)
	 * ends the last word. */
	for (size_t k = 0; k <= n / 64; k++) {
		uint64_t b = bits[k], before = b << 1 | carry;
		uint64_t opens = b & ~before, ends = ~b & before;

		carry = b >> 63;
		if (open != SIZE_MAX && ends) {
			count_word(acc, lo, open, k * 64 + (size_t)__builtin_ctzll(ends));
			ends &= ends - 1;
			open = SIZE_MAX;
		}
		while (opens) {
			size_t start = k * 64 + (size_t)__builtin_ctzll(opens);

			opens &= opens - 1;
			if (!ends) {
				open = start;
				break;
			}
			count_word(acc, lo, start, k * 64 + (size_t)__builtin_ctzll(ends));
			ends &= ends - 1;
		}
	}
	for (size_t l = 0; l < NLANG; l++)
		score[l] = (int)(acc[l / 4] >> (16 * (l % 4)) & 0xffff);
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
	char w[8 + WORD_MAX + 8] = { 0 };

	if (len == 0 || len >= WORD_MAX)
		return 0;
	pthread_once(&table_once, table_build);
	len = word_lower(word, len, w + 8);
	return words[table_find((const unsigned char *)w + 8, len) - entries].mask;
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
