/* lang.c - language detection of inquiry text (see lang.h).
 *
 * Three kinds of evidence, each good where the others are weak:
 *  - the script: Greek, Hebrew and Cyrillic letters decide alone (el, he,
 *    bg are the only members that write them);
 *  - function words: a few dozen per language cover a large share of any
 *    text, so two or three lines already name their language;
 *  - libexttextcat's character n-gram profiles, which tell apart neighbours
 *    that share their function words (cs/sk, da/no, hr/sl, lt/lv), and the
 *    letters that only a few languages use (ő, ł, ř, ė, ā, ğ, ș ...).
 * The profiles are read once per process; without them (the data package
 * missing) the detection falls back on the other two. */
#include "compat.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include <fingerprint.h>

#include "lang.h"
#include "utf8.h"
#include "xalloc.h"

#ifndef LANG_TEXTCAT_DIR
#define LANG_TEXTCAT_DIR "/usr/share/libexttextcat"
#endif

enum script { SCRIPT_LATIN, SCRIPT_GREEK, SCRIPT_HEBREW, SCRIPT_CYRILLIC, SCRIPT_OTHER };

/* The order of lang_codes[], as lang_word_langs() gives bits. The first
 * nine are those of the first version (the bits its tests know). */
const char *const lang_codes[] = { "en", "de", "fr", "it", "es", "nl", "pt", "pl", "et",
				   "bg", "ca", "cs", "da", "el", "fi", "he", "hr", "hu",
				   "lt", "lv", "no", "ro", "sk", "sl", "sv", "tr", NULL };

struct lang_def {
	enum script script;
	const char *profile; /* libexttextcat's file (without .lm), NULL: none */
	const char *words;   /* space-separated lowercase function words */
};

static const struct lang_def langs[] = {
	{ SCRIPT_LATIN, "en",
	  "the of and to in is that for it with as was on be are this by not from at or "
	  "have an but which you they we would there their been has will can if my our "
	  "your about please could should i me do does what when who how thank thanks "
	  "dear regards kind hello looking forward information regarding" },
	{ SCRIPT_LATIN, "de",
	  "der die das und ist nicht ich sie es zu den mit sich des auf für dem ein eine "
	  "einer eines wir ihr auch als an noch nach wie bei oder aus wenn um über sind "
	  "haben hat wird werden können könnten bitte vielen dank sehr geehrte geehrter "
	  "damen herren grüßen grüße freundlichen mit im zum zur gibt uns unser unsere "
	  "möchte möchten ob ihre ihnen" },
	{ SCRIPT_LATIN, "fr",
	  "le la les et des est un une du que qui dans pour pas sur au avec ce cette "
	  "ces sont nous vous je il elle mais ou où par plus aux leur leurs été être "
	  "avons avez merci madame monsieur bonjour cordialement salutations votre vos "
	  "notre nos concernant pourriez serait très" },
	{ SCRIPT_LATIN, "it",
	  "il lo la gli le di che è e un una per non con sono del della delle dei degli "
	  "nel nella alla al ai si come anche ma più questo questa ho ha abbiamo avete "
	  "grazie gentile gentili saluti cordiali buongiorno vorrei potreste sarebbe "
	  "nostro nostra vostro vostra essere stato informazioni" },
	{ SCRIPT_LATIN, "es",
	  "el la los las de que y en un una es por con no para del al lo se su sus como "
	  "más pero este esta estos ser ha hay muy también gracias estimado estimada "
	  "estimados saludos cordiales buenos días quisiera podrían nuestro nuestra "
	  "nosotros usted ustedes información sobre desde" },
	{ SCRIPT_LATIN, "nl",
	  "de het een en van is dat in op te zijn voor met niet er aan ook als bij om "
	  "maar uit nog wij we ik u uw ons onze naar heeft hebben worden wordt kunnen "
	  "zou graag vriendelijke groet groeten geachte beste dank bedankt over deze dit" },
	{ SCRIPT_LATIN, "pt",
	  "o a os as de que e do da dos das em um uma para com não por no na nos nas "
	  "se mais como mas ao à é são foi ser tem muito também obrigado obrigada "
	  "prezado prezada prezados cumprimentos atenciosamente gostaria poderiam "
	  "nosso nossa vocês informações sobre está estão" },
	{ SCRIPT_LATIN, "pl",
	  "i w z na się nie do że to jest jak o po co ale za od jako przez dla są czy "
	  "tak już może być był jestem mamy bardzo dziękuję dzień dobry szanowni "
	  "szanowny szanowna państwo pozdrawiam pozdrowienia uprzejmie chciałbym "
	  "chciałabym informacje dotyczące naszego nasz nasza oraz także" },
	{ SCRIPT_LATIN, "et",
	  "ja on ei see et ka oli kui mis ta nad me te ma mina sina seda selle oma "
	  "aga või siis veel ning olen oleme olete kas palun tänan aitäh lugupeetud "
	  "tere parimate soovidega kohta meie teie mulle sooviksin võiksite samuti "
	  "projekti taotlus" },
	{ SCRIPT_CYRILLIC, "bg", "" },
	{ SCRIPT_LATIN, "ca",
	  "el la els les de del dels que i en un una per amb no és són al als ho hi "
	  "aquest aquesta aquests més però també molt nostre nostra vostre vostra "
	  "benvolguts benvolgut benvolguda salutacions cordials gràcies voldria "
	  "podríeu sobre fins quan com ens us seu seva" },
	{ SCRIPT_LATIN, "cs",
	  "a v na se je že to s z do o k i jak ale by být jsem jsme jste není nebo "
	  "které který která také jsou pro od po při už bych bychom mohli mohl "
	  "prosím děkuji dobrý den vážení vážený vážená pozdravem náš naše naši "
	  "vaše váš zda kdy co jen jsou také velmi může mohu proč této tyto tento "
	  "ze ke ve není" },
	{ SCRIPT_LATIN, "da",
	  "og i at det er en et til på af med for som ikke den de vi jeg har kan "
	  "vil der fra om men eller også hvad hvordan hvornår hvem mig dig jer jeres "
	  "vores være været blev blive bliver kære venlig venlige hilsen hilsner tak "
	  "hej gerne arbejder nogle nogen efter meget hvor søge ansøgning stadig bør "
	  "gælder spørgsmål opslaget opslag beder sådan nu mvh" },
	{ SCRIPT_GREEK, "el", "" },
	{ SCRIPT_LATIN, "fi",
	  "ja on ei se että ovat oli kun mitä myös tai mutta kuin joka jos niin "
	  "voi voisitteko olisi olen olemme minä me te hän meidän teidän sekä "
	  "kiitos hyvä hei ystävällisin terveisin tervehdyksin mukaan kanssa "
	  "haluaisin haluaisimme miten milloin kenelle mikä mitkä minun minulla "
	  "voitteko onko ovatko minut minua meille teille" },
	{ SCRIPT_HEBREW, "he", "" },
	{ SCRIPT_LATIN, "hr",
	  "i u je da se na za od s sa su ili ali kao što koji koja koje bi bih smo "
	  "ste sam nije ima može možete li kada kako naš naša naše vaš vaša vaše "
	  "poštovani poštovana srdačan pozdrav pozdravom hvala unaprijed molim "
	  "željeli želio željela trebam nisam nismo kome" },
	{ SCRIPT_LATIN, "hu",
	  "a az és hogy nem is van egy meg de csak ha már mint vagy volt lesz "
	  "kell lehet szeretnék szeretnénk tudnák köszönöm köszönettel üdvözlettel "
	  "tisztelt hölgyem uram kérem kérdés kérdésem vagyok vagyunk mikor hogyan "
	  "milyen kinek nekünk önök önöknek" },
	{ SCRIPT_LATIN, "lt",
	  "ir yra kad su į iš ar bet kaip tai jis ji mes jūs aš mūsų jūsų savo "
	  "norėčiau norėtume galėtumėte gerbiamieji gerbiamas gerbiama pagarbiai "
	  "ačiū prašau dėl apie kada kur kam kas taip pat yra buvo būti" },
	{ SCRIPT_LATIN, "lv",
	  "un ir ka ar uz no par vai bet kā tas tā mēs jūs es mūsu jūsu savu "
	  "vēlētos vēlētos varētu godātie godātais godātā cieņu paldies lūdzu "
	  "kad kur kam kas arī bija būt ir jau vēl" },
	{ SCRIPT_LATIN, "nb",
	  "og i at det er en et til på av med for som ikke den de vi jeg har kan "
	  "vil der fra om men eller også hva hvordan når hvem meg deg dere deres "
	  "vår vårt våre være vært ble bli blir kjære vennlig hilsen takk hei "
	  "gjerne jobber noen etter ønsker mye hvor søke søknad lurer bør fortsatt "
	  "gjelder spørsmål utlysningen utlysning ber slik nå mvh" },
	{ SCRIPT_LATIN, "ro",
	  "și în de la cu pe că nu un o este sunt pentru din care ce mai dar sau "
	  "ne vă noi dumneavoastră nostru noastră vostru stimate stimată stimați "
	  "doamne domni mulțumesc mulțumim cu stimă aș am fi putea puteți dori "
	  "dacă când cum despre" },
	{ SCRIPT_LATIN, "sk",
	  "a v na sa je že to s z do o k i ako ale by byť som sme ste nie alebo "
	  "ktoré ktorý ktorá tiež sú pre od po pri už by mohli mohol prosím "
	  "ďakujem dobrý deň vážení vážený vážená pozdravom náš naše naši vaše "
	  "váš či kedy čo len ma vášho vašej vášmu som chcel chcela aj iba veľmi môže "
	  "môžem prečo tejto tieto tento zo ku vo so sú nie" },
	{ SCRIPT_LATIN, "sl",
	  "in je da se na za od s z so ali ki kot bi sem smo ste ni ima lahko "
	  "kdaj kako kje naš naša naše vaš vaša vaše spoštovani spoštovana lep "
	  "pozdrav lepo hvala prosim rad rada radi želel želela želeli tudi "
	  "pri po" },
	{ SCRIPT_LATIN, "sv",
	  "och i att det är en ett till på av med för som inte den de vi jag har "
	  "kan vill från om men eller också vad hur när vem mig dig er ert era "
	  "vår vårt våra vara varit blev hej vänliga hälsningar hälsning tack "
	  "gärna arbetar några efter undrar" },
	{ SCRIPT_LATIN, "tr",
	  "ve bir bu da de ile için ne çok daha gibi ama ya mı mi mu mü olarak "
	  "olan var yok sayın saygılarımla teşekkür teşekkürler ederim merhaba "
	  "iyi günler lütfen biz siz bizim sizin hakkında nasıl ne zaman kime "
	  "misiniz musunuz istiyorum istiyoruz nedir nelerdir beni bana bize size" },
};

#define NLANG ARRAY_SIZE(langs)
#define WORD_MAX LANG_WORD_MAX

/* Letters that only a few member languages write: each occurrence is
 * shared out among them. Lowercase code points. */
static const struct {
	uint32_t cp;
	const char *codes;
} letters[] = {
	{ 0x0151, "hu" },    { 0x0171, "hu" },          /* ő ű */
	{ 0x0142, "pl" },    { 0x017C, "pl" },          /* ł ż */
	{ 0x015B, "pl" },    { 0x017A, "pl" },          /* ś ź */
	{ 0x0144, "pl" },    { 0x0105, "pl lt" },       /* ń ą */
	{ 0x0119, "pl lt" }, { 0x0107, "pl hr" },       /* ę ć */
	{ 0x0159, "cs" },    { 0x016F, "cs" },          /* ř ů */
	{ 0x011B, "cs" },    { 0x010F, "cs sk" },       /* ě ď */
	{ 0x0165, "cs sk" }, { 0x0148, "cs sk" },       /* ť ň */
	{ 0x013E, "sk" },    { 0x013A, "sk" },          /* ľ ĺ */
	{ 0x0155, "sk" },    { 0x00F4, "sk pt fr" },    /* ŕ ô */
	{ 0x0117, "lt" },    { 0x012F, "lt" },          /* ė į */
	{ 0x0173, "lt" },    { 0x016B, "lt lv" },       /* ų ū */
	{ 0x0101, "lv" },    { 0x0113, "lv" },          /* ā ē */
	{ 0x012B, "lv" },    { 0x0137, "lv" },          /* ī ķ */
	{ 0x013C, "lv" },    { 0x0146, "lv" },          /* ļ ņ */
	{ 0x0123, "lv" },    { 0x011F, "tr" },          /* ģ ğ */
	{ 0x0131, "tr" },    { 0x015F, "tr ro" },       /* ı ş */
	{ 0x0163, "ro" },    { 0x0219, "ro" },          /* ţ ș */
	{ 0x021B, "ro" },    { 0x0103, "ro" },          /* ț ă */
	{ 0x0111, "hr" },    { 0x00E5, "da no sv" },    /* đ å */
	{ 0x00E6, "da no" }, { 0x00F8, "da no" },       /* æ ø */
	{ 0x00F5, "et pt" }, { 0x00F1, "es" },          /* õ ñ */
	{ 0x0140, "ca" },    { 0x00DF, "de" },          /* ŀ ß */
	{ 0x00E3, "pt" },    { 0x00F2, "ca it" },       /* ã ò */
	{ 0x00EF, "ca fr" }, { 0x00E7, "fr pt ca tr" }, /* ï ç */
	{ 0x00E4, "de sv fi et sk" },                   /* ä */
	{ 0x00F6, "de sv fi et hu tr" },                /* ö */
	{ 0x00FC, "de et hu tr" },                      /* ü */
	{ 0x010D, "cs sk sl hr lt lv" },                /* č */
	{ 0x0161, "cs sk sl hr lt lv et fi" },          /* š */
	{ 0x017E, "cs sk sl hr lt lv et fi" },          /* ž */
};

/* The weights of the evidence (see detect()): a function word, a
 * share of a rare letter, and the n-gram profiles' lead of a language. */
#define WEIGHT_WORD 1.0
#define WEIGHT_OWN_WORD 1.0 /* more, for a word of one language only */
#define WEIGHT_LETTER 0.5
#define WEIGHT_PROFILE 3.0
/* How far behind the closest profile (a fraction of its distance) a
 * language still gets some of WEIGHT_PROFILE. */
#define PROFILE_SPAN 0.06
/* The bytes of the sample that the profiles see: enough for a stable
 * profile of a mail, little enough to cost less than the rules. */
#define PROFILE_BYTES 512
/* The words alone decide (the profiles are not asked) when the first
 * leads by this much and by this share of its points. */
#define WORDS_DECIDE_LEAD 6.0
#define WORDS_DECIDE_SHARE 0.3
/* ... or, against a language that is no neighbour, when the first has
 * this many function words and a lead of two points */
#define WORDS_FEW 4
/* Letters enough for the profiles to decide without function words. */
#define PROFILE_ALONE_LETTERS 40
/* Fewer letters than this and no language is sure. */
#define MIN_LETTERS 8

/* Languages whose n-gram profiles are too close to decide between them. */
static const char *const profile_twins[][2] = { { "da", "no" }, { "cs", "sk" } };

struct stop_word {
	char word[WORD_MAX];
	uint32_t len;
	uint32_t mask; /* bit i: lang_codes[i] */
};

static struct stop_word *stop_words;
static size_t nstop_words;
/* the words in an open-addressing table (index + 1, 0 for none) */
#define WORD_SLOTS 4096
static uint16_t word_slots[WORD_SLOTS];
static size_t stop_word_max; /* the longest's bytes: a longer word is none */
static uint32_t letter_mask[ARRAY_SIZE(letters)];
/* the index + 1 in letters[] of every code point below LETTER_CPS */
#define LETTER_CPS 0x250
static uint8_t letter_of[LETTER_CPS];
/* read by profile_of(), under profiles_lock; kept to the end */
static void *profiles[NLANG];
static atomic_bool profiles_ok; /* every profile is there (none failed to read) */
static pthread_mutex_t profiles_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static int
stop_word_cmp(const void *a, const void *b)
{
	return strcmp(((const struct stop_word *)a)->word, ((const struct stop_word *)b)->word);
}

/* The hash of a word of len bytes at w (eight bytes readable at least):
 * of its first and its last eight bytes and its length, at once rather
 * than a step a byte. */
static uint32_t
word_hash(const char *w, size_t len)
{
	uint64_t head = 0, tail = 0;

	memcpy(&head, w, len < 8 ? len : 8);
	if (len > 8)
		memcpy(&tail, w + len - 8, 8);
	return (uint32_t)((head * 0x9e3779b97f4a7c15ull ^ tail * 0xc2b2ae3d27d4eb4full ^ len) >> 32);
}

static int
lang_index(const char *code, size_t len)
{
	for (size_t l = 0; l < NLANG; l++)
		if (strlen(lang_codes[l]) == len && memcmp(lang_codes[l], code, len) == 0)
			return (int)l;
	return -1;
}

/* The function words, sorted, each once with the set of its languages. */
static void
stop_words_build(void)
{
	size_t cap = 0, n = 0;

	for (size_t l = 0; l < NLANG; l++)
		for (const char *p = langs[l].words; *p; p++)
			cap += *p == ' ';
	cap += NLANG;
	stop_words = xcalloc(cap, sizeof(*stop_words));
	for (size_t l = 0; l < NLANG; l++) {
		const char *p = langs[l].words;

		while (*p) {
			size_t len = strcspn(p, " ");

			if (len > 0 && len < WORD_MAX) {
				memcpy(stop_words[n].word, p, len);
				stop_words[n++].mask = 1u << l;
			}
			p += len;
			p += strspn(p, " ");
		}
	}
	qsort(stop_words, n, sizeof(*stop_words), stop_word_cmp);
	nstop_words = 0;
	for (size_t i = 0; i < n; i++) {
		if (nstop_words && strcmp(stop_words[nstop_words - 1].word, stop_words[i].word) == 0)
			stop_words[nstop_words - 1].mask |= stop_words[i].mask;
		else
			stop_words[nstop_words++] = stop_words[i];
	}
	for (size_t i = 0; i < nstop_words; i++) {
		uint32_t h;

		stop_words[i].len = (uint32_t)strlen(stop_words[i].word);
		if (stop_words[i].len > stop_word_max)
			stop_word_max = stop_words[i].len;
		h = word_hash(stop_words[i].word, stop_words[i].len) & (WORD_SLOTS - 1);

		while (word_slots[h])
			h = (h + 1) & (WORD_SLOTS - 1);
		word_slots[h] = (uint16_t)(i + 1);
	}
}

static void
letters_build(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(letters); i++) {
		const char *p = letters[i].codes;

		while (*p) {
			size_t len = strcspn(p, " ");
			int l = lang_index(p, len);

			if (l >= 0)
				letter_mask[i] |= 1u << l;
			if (letters[i].cp < LETTER_CPS)
				letter_of[letters[i].cp] = (uint8_t)(i + 1);
			p += len;
			p += strspn(p, " ");
		}
	}
}

/* The path of language l's profile. */
static void
profile_path(size_t l, char *path, size_t n)
{
	snprintf(path, n, "%s/%s.lm", LANG_TEXTCAT_DIR, langs[l].profile);
}

/* Whether every Latin-script language's profile is there: the profiles
 * are read one by one as the detection first needs them (most mails need
 * none), and none is used when one is missing, so that the scores stay
 * comparable between mails. */
static void
profiles_check(void)
{
	for (size_t l = 0; l < NLANG; l++) {
		char path[256];

		if (langs[l].script != SCRIPT_LATIN)
			continue;
		profile_path(l, path, sizeof(path));
		if (access(path, R_OK) != 0)
			return;
	}
	atomic_store(&profiles_ok, true);
}

/* The profile of language l, read on its first use; NULL for a language
 * its script decides, and for every language once one could not be read. */
static void *
profile_of(size_t l)
{
	void *prof = NULL;

	if (langs[l].script != SCRIPT_LATIN)
		return NULL;
	pthread_mutex_lock(&profiles_lock);
	if (atomic_load(&profiles_ok) && !profiles[l]) {
		char path[256];

		profile_path(l, path, sizeof(path));
		profiles[l] = fp_Init(lang_codes[l]);
		if (!profiles[l] || fp_Read(profiles[l], path, 400) == 0)
			atomic_store(&profiles_ok, false);
	}
	if (atomic_load(&profiles_ok))
		prof = profiles[l];
	pthread_mutex_unlock(&profiles_lock);
	return prof;
}

static void
tables_build(void)
{
	stop_words_build();
	letters_build();
	profiles_check();
}

/* ---- the text, one code point at a time ---- */

/* The code point at s[*i] (len bytes in all), *i moved past it; a broken
 * sequence is one byte that is no letter (U+FFFD). */
static uint32_t
next_cp(const unsigned char *s, size_t len, size_t *i)
{
	unsigned cp;
	size_t n;

	if (s[*i] < 0x80)
		return s[(*i)++];
	n = utf8_decode(s + *i, len - *i, &cp);
	if (n == 0) {
		(*i)++;
		return 0xfffd;
	}
	*i += n;
	return cp;
}

/* The script of a letter, SCRIPT_OTHER for what is no letter here. */
static enum script
cp_script(uint32_t cp)
{
	if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z'))
		return SCRIPT_LATIN;
	if (cp >= 0xc0 && cp <= 0x24f && cp != 0xd7 && cp != 0xf7)
		return SCRIPT_LATIN;
	if (cp >= 0x370 && cp <= 0x3ff && cp != 0x37e && cp != 0x387)
		return SCRIPT_GREEK;
	if (cp >= 0x1f00 && cp <= 0x1fff)
		return SCRIPT_GREEK;
	if (cp >= 0x400 && cp <= 0x4ff)
		return SCRIPT_CYRILLIC;
	if (cp >= 0x5d0 && cp <= 0x5ea)
		return SCRIPT_HEBREW;
	return SCRIPT_OTHER;
}

/* The lowercase of a Latin letter (ASCII, Latin-1, Latin Extended-A and
 * the Romanian comma letters); others as they are. */
static uint32_t
latin_lower(uint32_t cp)
{
	if (cp >= 'A' && cp <= 'Z')
		return cp + 32;
	if (cp >= 0xc0 && cp <= 0xde && cp != 0xd7)
		return cp + 32;
	if (cp == 0x130)
		return 'i';
	if ((cp >= 0x100 && cp <= 0x137) || (cp >= 0x14a && cp <= 0x177) ||
	    (cp >= 0x218 && cp <= 0x21b))
		return cp | 1;
	if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17e))
		return cp & 1 ? cp + 1 : cp;
	if (cp == 0x178)
		return 0xff;
	return cp;
}

static size_t
put_utf8(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	out[0] = (char)(0xe0 | cp >> 12);
	out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[2] = (char)(0x80 | (cp & 0x3f));
	return 3;
}

/* The languages of the word of len bytes at w (lowercased; hash its
 * word_hash()), 0 for none. */
static uint32_t
stop_word_mask(const char *w, size_t len, uint32_t hash)
{
	if (len > stop_word_max)
		return 0;
	for (uint32_t h = hash & (WORD_SLOTS - 1); word_slots[h]; h = (h + 1) & (WORD_SLOTS - 1)) {
		const struct stop_word *sw = &stop_words[word_slots[h] - 1];

		if (sw->len == len && memcmp(sw->word, w, len) == 0)
			return sw->mask;
	}
	return 0;
}

/* What one pass over the sample counts. */
struct tally {
	size_t script[SCRIPT_OTHER + 1]; /* letters of each script */
	int words[NLANG];                /* function words of each language */
	int own[NLANG];                  /* those that no other language has */
	double letters[NLANG];           /* shares of rare letters */
};

/* Counts the word of len bytes at w (lowercased, eight bytes readable). */
static void
tally_word(struct tally *t, const char *w, size_t len)
{
	uint32_t mask = len > stop_word_max ? 0 : stop_word_mask(w, len, word_hash(w, len));

	if (mask && !(mask & (mask - 1)))
		t->own[__builtin_ctz(mask)]++;
	for (; mask; mask &= mask - 1)
		t->words[__builtin_ctz(mask)]++;
}

static void
tally_letter(struct tally *t, uint32_t lower)
{
	size_t i;
	double share;

	if (lower >= LETTER_CPS || !letter_of[lower])
		return;
	i = letter_of[lower] - 1u;
	share = 1.0 / __builtin_popcount(letter_mask[i]);
	for (size_t l = 0; l < NLANG; l++)
		if (letter_mask[i] & (1u << l))
			t->letters[l] += share;
}

static void
tally_sample(struct tally *t, const char *s, size_t len)
{
	char w[WORD_MAX + 4];
	size_t wl = 0, i = 0, ascii_letters = 0;
	bool too_long = false;

	memset(t, 0, sizeof(*t));
	while (i <= len) {
		unsigned char c = i < len ? (unsigned char)s[i] : ' ';
		uint32_t cp;
		enum script sc;

		/* most of a mail is ASCII: its letters without decoding */
		if (c < 0x80) {
			i++;
			if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') {
				ascii_letters++;
				if (wl + 1 < WORD_MAX)
					w[wl++] = (char)(c | 0x20);
				else
					too_long = true;
				continue;
			}
			if (wl && !too_long)
				tally_word(t, w, wl);
			wl = 0;
			too_long = false;
			continue;
		}
		cp = next_cp((const unsigned char *)s, len, &i);
		sc = cp_script(cp);

		if (sc != SCRIPT_OTHER) {
			uint32_t lower = sc == SCRIPT_LATIN ? latin_lower(cp) : cp;

			t->script[sc]++;
			if (sc == SCRIPT_LATIN && lower >= 0x80)
				tally_letter(t, lower);
			if (wl + 3 < WORD_MAX)
				wl += put_utf8(w + wl, lower);
			else
				too_long = true;
			continue;
		}
		if (wl && !too_long)
			tally_word(t, w, wl);
		wl = 0;
		too_long = false;
	}
	t->script[SCRIPT_LATIN] += ascii_letters;
}

/* The distance of the text's profile unknown to language l's, INT32_MAX
 * when l has no profile or is farther than cutoff (fp_Compare() stops
 * there and gives MAXSCORE, which is INT_MAX). */
static int
profile_distance(size_t l, void *unknown, int cutoff)
{
	void *prof = profile_of(l);

	return prof ? fp_Compare(prof, unknown, cutoff) : INT32_MAX;
}

/* The n-gram profiles' distances to the text, scaled to points: the
 * closest gets WEIGHT_PROFILE, one PROFILE_SPAN behind it none. The leader
 * by the words (lead) is compared first: its distance bounds the others',
 * and one twice PROFILE_SPAN behind the closest so far is not followed to
 * its end, as it gets no points whatever the closest turns out to be. */
static void
profile_points(const char *s, size_t len, const double *before, size_t lead, double *points)
{
	void *unknown;
	int dist[NLANG], best = INT32_MAX;
	double top = before[lead];

	if (!atomic_load(&profiles_ok))
		return;
	unknown = fp_Init(NULL);
	if (!unknown)
		return;
	fp_SetProperty(unknown, TCPROP_UTF8AWARE, TC_TRUE);
	fp_SetProperty(unknown, TCPROP_MINIMUM_DOCUMENT_SIZE, 1);
	if (len > PROFILE_BYTES) {
		len = PROFILE_BYTES;
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
	}
	if (fp_Create(unknown, s, (uint4)len, 400) == 0) {
		fp_Done(unknown);
		return;
	}
	/* only the languages the profile's points can still make first */
	for (size_t k = 0; k <= NLANG; k++) {
		size_t l = k == 0 ? lead : k - 1;
		int cutoff = best == INT32_MAX ? INT32_MAX : best + (int)(2 * PROFILE_SPAN * best);

		if (k > 0 && l == lead)
			continue;
		dist[l] = before[l] > top - WEIGHT_PROFILE - 1.0 ? profile_distance(l, unknown, cutoff)
							       : INT32_MAX;
		if (dist[l] < best)
			best = dist[l];
	}
	fp_Done(unknown);
	/* the profiles do not tell these apart (Danish is closer to any
	 * Norwegian text than Norwegian is, Czech to short Slovak): their
	 * words must */
	for (size_t g = 0; g < ARRAY_SIZE(profile_twins); g++) {
		int a = lang_index(profile_twins[g][0], 2), b = lang_index(profile_twins[g][1], 2);
		int both = dist[a] < dist[b] ? dist[a] : dist[b];

		dist[a] = dist[b] = both;
	}
	for (size_t l = 0; l < NLANG; l++) {
		double behind = dist[l] < INT32_MAX ? (double)(dist[l] - best) / best : 1.0;

		if (behind < PROFILE_SPAN)
			points[l] += WEIGHT_PROFILE * (1.0 - behind / PROFILE_SPAN);
	}
}

/* Languages that share many function words: between them, the words
 * decide only with a wide lead. */
static const char *const neighbours[] = { "da no sv", "cs sk", "hr sl", "lt lv",
					  "es ca pt it", "fr ca", "nl de", "et fi" };

static bool
are_neighbours(size_t a, size_t b)
{
	for (size_t i = 0; i < ARRAY_SIZE(neighbours); i++) {
		const char *g = neighbours[i];

		if (strstr(g, lang_codes[a]) && strstr(g, lang_codes[b]))
			return true;
	}
	return false;
}

/* Whether the words and letters leave the language open, so that the
 * profiles must be asked: a narrow lead over a neighbour, or too few
 * words for any lead to mean much. */
static bool
words_undecided(const struct tally *t, const double *points, size_t best, size_t second)
{
	double lead = points[best] - points[second];

	if (lead >= WORDS_DECIDE_LEAD && lead >= WORDS_DECIDE_SHARE * points[best])
		return false;
	return t->words[best] < WORDS_FEW || lead < 2.0 || are_neighbours(best, second);
}

/* Whether the profiles' points could change the answer: they add at most
 * WEIGHT_PROFILE to a language, so a wider lead (and the two function
 * words the answer needs, which they do not replace) leaves it as it is. */
static bool
profile_may_matter(const struct tally *t, const double *points, size_t best, size_t second)
{
	/* the margin keeps rounding from deciding */
	return points[best] - points[second] <= WEIGHT_PROFILE + 0.5 + 1e-6 || t->words[best] < 2;
}

/* The best and the second of points. */
static void
leaders(const double *points, size_t *best, size_t *second)
{
	*best = 0;
	for (size_t l = 1; l < NLANG; l++)
		if (points[l] > points[*best])
			*best = l;
	*second = *best == 0 ? 1 : 0;
	for (size_t l = 0; l < NLANG; l++)
		if (l != *best && points[l] > points[*second])
			*second = l;
}

static const char *
detect(const char *s, size_t len, int *score_r)
{
	struct tally t;
	double points[NLANG], profile[NLANG] = { 0 };
	size_t best = 0, second = 1, latin;

	pthread_once(&tables_once, tables_build);
	tally_sample(&t, s, len);
	latin = t.script[SCRIPT_LATIN];
	/* a script that only one member writes decides */
	for (size_t l = 0; l < NLANG; l++) {
		enum script sc = langs[l].script;

		if (sc != SCRIPT_LATIN && t.script[sc] >= MIN_LETTERS && t.script[sc] > latin) {
			*score_r = (int)t.script[sc];
			return lang_codes[l];
		}
	}
	if (latin < MIN_LETTERS)
		return NULL;
	for (size_t l = 0; l < NLANG; l++)
		points[l] = langs[l].script != SCRIPT_LATIN
				    ? -1
				    : WEIGHT_WORD * t.words[l] + WEIGHT_OWN_WORD * t.own[l] +
					      WEIGHT_LETTER * t.letters[l];
	leaders(points, &best, &second);
	/* the profiles cost more than all the rest: asked only when the words
	 * leave it open (neighbours, few function words) */
	if (words_undecided(&t, points, best, second) &&
	    profile_may_matter(&t, points, best, second)) {
		profile_points(s, len, points, best, profile);
		for (size_t l = 0; l < NLANG; l++)
			points[l] += profile[l];
		leaders(points, &best, &second);
	}
	*score_r = t.words[best];
	/* A clear lead, and two function words at least or, in a longer text
	 * (agglutinative languages have few), the closest profile: a greeting
	 * alone or a tie between neighbours is no answer. */
	if (points[best] - points[second] < 0.5)
		return NULL;
	if (t.words[best] < 2 && !(latin >= PROFILE_ALONE_LETTERS && profile[best] == WEIGHT_PROFILE))
		return NULL;
	return lang_codes[best];
}

/* Appends the lines of src (len bytes) to s (n bytes so far, at most
 * LANG_MAX_SCAN) but for quoted ones ("> ..."): in a reply, the quoted
 * mail is another writer's, often in another language. */
static size_t
sample_add(char *s, size_t n, const char *src, size_t len)
{
	for (size_t at = 0; at < len && n < LANG_MAX_SCAN;) {
		const char *nl = memchr(src + at, '\n', len - at);
		size_t line = nl ? (size_t)(nl - src - at) + 1 : len - at;
		size_t lead = strspn(src + at, " \t");

		if (lead >= line || src[at + lead] != '>') {
			size_t k = line < LANG_MAX_SCAN - n ? line : LANG_MAX_SCAN - n;

			memcpy(s + n, src + at, k);
			n += k;
		}
		at += line;
	}
	return n;
}

/* s (LANG_MAX_SCAN + 1 bytes) = the first LANG_MAX_SCAN bytes of head
 * "\n" text (text NULL: head alone) without quoted lines. */
static void
sample_make(char *s, const char *head, size_t hlen, const char *text, size_t len, size_t *n_r)
{
	size_t n = sample_add(s, 0, head, hlen);

	if (text && n < LANG_MAX_SCAN) {
		s[n++] = '\n';
		n = sample_add(s, n, text, len);
	}
	s[n] = '\0';
	*n_r = n;
}

static const char *
detect_sample(const char *head, size_t hlen, const char *text, size_t len, int *score_r)
{
	int score = 0;
	size_t n;
	/* on the stack: a block of this size from malloc, each mail, costs
	 * more than reading it */
	char s[LANG_MAX_SCAN + 1];
	const char *code;

	if (score_r)
		*score_r = 0;
	if (!head)
		return NULL;
	sample_make(s, head, hlen, text, len, &n);
	code = detect(s, n, &score);
	if (score_r)
		*score_r = score;
	return code;
}

unsigned
lang_word_langs(const char *word, size_t len)
{
	char w[WORD_MAX + 4];
	size_t wl = 0, i = 0;

	if (len == 0 || len >= WORD_MAX)
		return 0;
	pthread_once(&tables_once, tables_build);
	while (i < len) {
		uint32_t cp = next_cp((const unsigned char *)word, len, &i);
		enum script sc = cp_script(cp);

		if (sc == SCRIPT_OTHER || wl + 3 >= WORD_MAX)
			return 0;
		wl += put_utf8(w + wl, sc == SCRIPT_LATIN ? latin_lower(cp) : cp);
	}
	return wl > stop_word_max ? 0 : stop_word_mask(w, wl, word_hash(w, wl));
}

const char *
lang_detect(const char *text, size_t len, int *score_r)
{
	return detect_sample(text, len, NULL, 0, score_r);
}

const char *
lang_detect_joined(const char *head, size_t hlen, const char *text, size_t len, int *score_r)
{
	return detect_sample(head ? head : "", head ? hlen : 0, text ? text : "", text ? len : 0,
			     score_r);
}
