/* Language detection: one sentence of inquiry per language, and the cases
 * where it must say "unsure". */
#include "compat.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lang.h"

static const struct {
	const char *text;
	const char *lang; /* NULL: unsure */
} cases[] = {
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
	{ "", NULL },
	{ "Hello", NULL },
	{ "1234 5678 ++ --", NULL },
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

/* Only the first LANG_MAX_SCAN bytes count: German after as much filler
 * is not seen, German before it is. */
static void
test_scan_limit(void **state)
{
	const char *de = " Sehr geehrte Damen und Herren, wir möchten uns an der Ausschreibung "
			 "beteiligen. Mit freundlichen Grüßen";
	size_t n = LANG_MAX_SCAN + strlen(de) + 1;
	char *text = malloc(n);

	(void)state;
	assert_non_null(text);
	memset(text, 'x', LANG_MAX_SCAN);
	memcpy(text + LANG_MAX_SCAN, de, strlen(de) + 1);
	assert_null(lang_detect(text, strlen(text), NULL));
	memcpy(text, de, strlen(de));
	assert_string_equal(lang_detect(text, strlen(text), NULL), "de");
	free(text);
}

int
main(void)
{
	const struct CMUnitTest t[] = { cmocka_unit_test(test_detect),
					cmocka_unit_test(test_scan_limit) };

	return cmocka_run_group_tests(t, NULL, NULL);
}
