/* Language detection: a short inquiry (three lines) in every member
 * language, sentences of the first version, the cases where it must say
 * "unsure", the scan limit, the joined form and the word folding. */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lang.h"
#include "xalloc.h"

static const struct {
	const char *text;
	const char *lang; /* NULL: unsure */
} cases[] = {
	/* three lines: a greeting, one request, a closing */
	{ "Уважаеми колеги,\nМоля, добавете ме към списъка за вашия бюлетин.\nС уважение,", "bg" },
	{ "Benvolguts,\nUs prego que m'inscriviu al vostre butlletí.\nSalutacions cordials,", "ca" },
	{ "Vážení,\nProsím, přihlaste mě k odběru vašeho zpravodaje.\nS pozdravem", "cs" },
	{ "Kære ICPerMed-team,\nJeg vil gerne abonnere på jeres nyhedsbrev.\nMed venlig hilsen", "da" },
	{ "Sehr geehrte Damen und Herren,\nBitte nehmen Sie mich in Ihren Newsletter auf.\nMit freundlichen Grüßen", "de" },
	{ "Αξιότιμοι κύριοι,\nΠαρακαλώ προσθέστε με στη λίστα του ενημερωτικού σας δελτίου.\nΜε εκτίμηση,", "el" },
	{ "Dear ICPerMed team,\nPlease add me to your newsletter mailing list.\nKind regards,", "en" },
	{ "Estimados señores:\nLes ruego que me incluyan en su boletín de noticias.\nSaludos cordiales,", "es" },
	{ "Lugupeetud ICPerMedi meeskond,\nPalun lisage mind oma uudiskirja saajate hulka.\nLugupidamisega", "et" },
	{ "Hyvä ICPerMed-tiimi,\nVoisitteko lähettää minulle lisätietoja toiminnastanne ja julkaisuistanne?\nYstävällisin terveisin", "fi" },
	{ "Madame, Monsieur,\nMerci de m'inscrire à votre lettre d'information.\nCordialement,", "fr" },
	{ "שלום רב,\nאנא הוסיפו אותי לרשימת התפוצה של הניוזלטר שלכם.\nבברכה,", "he" },
	{ "Poštovani,\nMolim vas da me dodate na popis primatelja vašeg biltena.\nSrdačan pozdrav,", "hr" },
	{ "Tisztelt Hölgyem/Uram!\nKérem, vegyenek fel a hírlevelük címzettjei közé.\nÜdvözlettel:", "hu" },
	{ "Gentili signori,\nVi prego di iscrivermi alla vostra newsletter.\nCordiali saluti,", "it" },
	{ "Gerbiamieji,\nPrašau įtraukti mane į jūsų naujienlaiškio prenumeratorių sąrašą.\nPagarbiai", "lt" },
	{ "Godātie kolēģi,\nLūdzu, pievienojiet mani jūsu jaunumu vēstules saņēmējiem.\nAr cieņu", "lv" },
	{ "Geachte heer, mevrouw,\nGraag wil ik mij abonneren op uw nieuwsbrief.\nMet vriendelijke groet,", "nl" },
	{ "Hei,\nJeg vil gjerne abonnere på nyhetsbrevet deres.\nMed vennlig hilsen", "no" },
	{ "Szanowni Państwo,\nProszę o dopisanie mnie do listy odbiorców newslettera.\nZ poważaniem,", "pl" },
	{ "Prezados senhores,\nPeço que me incluam na vossa newsletter.\nCom os melhores cumprimentos,", "pt" },
	{ "Stimate doamne și domni,\nVă rog să mă adăugați pe lista de abonați la buletinul informativ.\nCu stimă,", "ro" },
	{ "Vážení,\nProsím, prihláste ma na odber vášho spravodajcu.\nS pozdravom", "sk" },
	{ "Spoštovani,\nProsim, dodajte me na seznam prejemnikov vaših novic.\nLep pozdrav,", "sl" },
	{ "Hej,\nJag vill gärna prenumerera på ert nyhetsbrev.\nMed vänliga hälsningar,", "sv" },
	{ "Sayın yetkili,\nLütfen beni bülteninizin alıcı listesine ekleyin.\nSaygılarımla,", "tr" },
	/* one sentence each, from the first version */
	{ "Dear colleagues, I would like to know whether our group can apply to the call. Kind regards", "en" },
	{ "Sehr geehrte Damen und Herren, wir möchten uns an der Ausschreibung beteiligen. Mit freundlichen Grüßen", "de" },
	{ "Madame, Monsieur, notre équipe souhaite déposer une candidature pour l'appel. Cordialement", "fr" },
	{ "Gentili signori, il nostro gruppo vorrebbe partecipare al bando. Cordiali saluti", "it" },
	{ "Estimados señores, nuestro grupo quiere presentar una solicitud a la convocatoria. Saludos cordiales", "es" },
	{ "Geachte heer, mevrouw, onze groep wil graag een aanvraag indienen voor de oproep. Met vriendelijke groet", "nl" },
	{ "Prezados senhores, o nosso grupo gostaria de apresentar uma candidatura ao concurso. Obrigado", "pt" },
	{ "Szanowni Państwo, nasz zespół chciałby złożyć wniosek w konkursie. Z poważaniem, dziękuję", "pl" },
	{ "Lugupeetud kolleegid, meie töörühm soovib esitada taotluse. Kas haigla võib olla partner? Parimate soovidega", "et" },
	{ "SEHR GEEHRTE DAMEN UND HERREN, WIR MÖCHTEN EINE FRAGE STELLEN", "de" },
	/* neighbours that share most function words */
	{ "Hej, kan I fortælle, hvornår fristen for ansøgninger er? Med venlig hilsen", "da" },
	{ "Hei, kan dere fortelle meg når fristen for søknader er? Med vennlig hilsen", "no" },
	{ "Hej, kan ni berätta när sista dag för ansökningar är? Med vänliga hälsningar", "sv" },
	{ "Dobrý den, mohli byste mi sdělit, kdy končí lhůta pro žádosti? S pozdravem", "cs" },
	{ "Dobrý deň, mohli by ste mi povedať, kedy končí termín na žiadosti? S pozdravom", "sk" },
	{ "Poštovani, možete li mi reći kada je rok za prijave? Srdačan pozdrav", "hr" },
	{ "Spoštovani, ali mi lahko poveste, kdaj je rok za prijave? Lep pozdrav", "sl" },
	{ "Gerbiamieji, ar galėtumėte pasakyti, kada baigiasi paraiškų terminas? Pagarbiai", "lt" },
	{ "Godātie kolēģi, vai jūs varētu pateikt, kad beidzas pieteikumu termiņš? Ar cieņu", "lv" },
	{ "Vážení,\nNa webovej stránke som nenašiel vaše kontaktné údaje. Komu mám napísať?\nS pozdravom", "sk" },
	/* a quoted mail in another language does not count */
	{ "Lugupeetud meeskond,\nKas saaksite selgitada, kuidas uus rahastaja saab liituda?\nLugupidamisega\n\n"
	  "> Thank you for your message. We will get back to you shortly.\n> ICPerMed Secretariat\n", "et" },
	/* a foreign name does not change the language */
	{ "Dear colleagues, I work with Prof. Łukasz Wójcik at Uniwersytet Jagielloński. Could you send me the call text? Kind regards", "en" },
	/* unsure */
	{ "", NULL },
	{ "Hello", NULL },
	{ "Grüße", NULL },
	{ "1234 5678 ++ --", NULL },
	{ "Αθήνα", NULL },
};

static void
test_detect(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *got = lang_detect(cases[i].text, strlen(cases[i].text), NULL);

		if (!cases[i].lang ? got != NULL : !got || strcmp(got, cases[i].lang) != 0)
			fail_msg("case %zu: got %s, expected %s", i, got ? got : "(unsure)",
				 cases[i].lang ? cases[i].lang : "(unsure)");
	}
	assert_null(lang_detect(NULL, 0, NULL));
}

/* Every language of lang_codes[] is the answer of at least one case. */
static void
test_every_language(void **state)
{
	(void)state;
	for (size_t l = 0; lang_codes[l]; l++) {
		bool seen = false;

		for (size_t i = 0; i < ARRAY_SIZE(cases) && !seen; i++)
			seen = cases[i].lang && strcmp(cases[i].lang, lang_codes[l]) == 0;
		if (!seen)
			fail_msg("no case for '%s'", lang_codes[l]);
	}
}

/* The script decides alone, whatever Latin words stand around it; the
 * score is then the count of its letters. */
static void
test_script(void **state)
{
	const char *el = "ICPerMed call: Θα ήθελα πληροφορίες για την πρόσκληση. Thanks";
	const char *he = "שלום, אני רוצה להירשם לסדנה";
	const char *bg = "Здравейте, искам да се регистрирам";
	int score = 0;

	(void)state;
	assert_string_equal(lang_detect(el, strlen(el), &score), "el");
	assert_true(score >= 20);
	assert_string_equal(lang_detect(he, strlen(he), NULL), "he");
	assert_string_equal(lang_detect(bg, strlen(bg), NULL), "bg");
}

/* Only the first LANG_MAX_SCAN bytes count: German after as much filler
 * is not seen, German before it is. */
static void
test_scan_limit(void **state)
{
	const char *de = " Sehr geehrte Damen und Herren, wir möchten uns an der Ausschreibung "
			 "beteiligen. Mit freundlichen Grüßen";
	size_t n = LANG_MAX_SCAN + strlen(de) + 1;
	char *text = xmalloc(n);

	(void)state;
	memset(text, '1', LANG_MAX_SCAN);
	memcpy(text + LANG_MAX_SCAN, de, strlen(de) + 1);
	assert_null(lang_detect(text, strlen(text), NULL));
	memcpy(text, de, strlen(de));
	assert_string_equal(lang_detect(text, strlen(text), NULL), "de");
	free(text);
}

/* lang_detect_joined() answers as lang_detect() of the joined text. */
static void
test_joined(void **state)
{
	(void)state;
	for (size_t i = 0; i + 1 < ARRAY_SIZE(cases); i++) {
		const char *h = cases[i].text, *t = cases[i + 1].text;
		char *j = xasprintf("%s\n%s", h, t);
		int s1, s2;
		const char *a = lang_detect_joined(h, strlen(h), t, strlen(t), &s1);
		const char *b = lang_detect(j, strlen(j), &s2);

		if (a != b || s1 != s2)
			fail_msg("case %zu: joined %s (%d), the joined text %s (%d)", i, a ? a : "-",
				 s1, b ? b : "-", s2);
		free(j);
	}
	assert_string_equal(lang_detect_joined("Anfrage", 7, "Sehr geehrte Damen und Herren", 29,
					       NULL),
			    "de");
	assert_null(lang_detect_joined(NULL, 0, NULL, 0, NULL));
}

static unsigned
bit(const char *code)
{
	for (unsigned l = 0; lang_codes[l]; l++)
		if (strcmp(lang_codes[l], code) == 0)
			return 1u << l;
	return 0;
}

/* Words are folded to lowercase (ASCII, Latin-1, Latin Extended-A) before
 * they are looked up; a word shared by languages counts for each. */
static void
test_word_langs(void **state)
{
	(void)state;
	assert_int_equal(lang_word_langs("the", 3), bit("en"));
	assert_int_equal(lang_word_langs("THE", 3), bit("en"));
	assert_int_equal(lang_word_langs("FÜR", 4), bit("de"));
	assert_int_equal(lang_word_langs("SIĘ", 4), bit("pl"));
	assert_int_equal(lang_word_langs("DĚKUJI", 7), bit("cs"));
	assert_true(lang_word_langs("og", 2) & bit("da"));
	assert_true(lang_word_langs("og", 2) & bit("no"));
	assert_int_equal(lang_word_langs("thee", 4), 0);
	assert_int_equal(lang_word_langs("", 0), 0);
	assert_int_equal(lang_word_langs("abcdefghijklmnopqrstuvwxyz", 26), 0);
	assert_int_equal(lang_word_langs("the1", 4), 0);
}

int
main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(test_detect),	   cmocka_unit_test(test_every_language),
		cmocka_unit_test(test_script),	   cmocka_unit_test(test_scan_limit),
		cmocka_unit_test(test_joined),	   cmocka_unit_test(test_word_langs),
	};

	return cmocka_run_group_tests(t, NULL, NULL);
}
