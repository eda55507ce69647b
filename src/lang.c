/* lang.c - language detection by stop words (see lang.h).
 *
 * Function words are the cheapest reliable signal for short mail: a few
 * dozen per language cover a large share of any text, and they need no
 * model file. Words shared by several languages count for each of them;
 * the distinctive ones decide. */
#include "compat.h"

#include <pthread.h>

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
#define WORD_MAX 24

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

const char *
lang_detect(const char *text, size_t len, int *score_r)
{
	int score[NLANG] = { 0 };
	size_t i = 0, best = 0, second = 0;

	if (score_r)
		*score_r = 0;
	if (!text)
		return NULL;
	pthread_once(&table_once, table_build);
	if (len > LANG_MAX_SCAN)
		len = LANG_MAX_SCAN;
	while (i < len) {
		size_t start;
		char w[WORD_MAX];
		const struct lang_entry *hit;
		size_t wlen;

		while (i < len && !word_byte[(unsigned char)text[i]])
			i++;
		start = i;
		while (i < len && word_byte[(unsigned char)text[i]])
			i++;
		if (i == start || i - start >= WORD_MAX)
			continue;
		{
			/* the word's shape as word_lower() would give it; a
			 * last byte beyond ASCII may be folded: no quick no */
			unsigned char f = (unsigned char)text[start], l = (unsigned char)text[i - 1];
			uint32_t sh;

			if (f >= 'A' && f <= 'Z')
				f = (unsigned char)(f + 32);
			if (l >= 'A' && l <= 'Z')
				l = (unsigned char)(l + 32);
			sh = shape(i - start, f, l);
			if (l < 0x80 && !(shapes[sh >> 3] & (1u << (sh & 7))))
				continue;
		}
		wlen = word_lower(text + start, i - start, w);
		hit = table_find(w, wlen);
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
