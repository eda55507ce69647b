/* Bounces and auto-replies known by what they say (bounce.h). */
#include "compat.h"

#include <pthread.h>
#include <strings.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "ascii.h"
#include "bounce.h"
#include "buf.h"
#include "xalloc.h"

struct phrase {
	const char *text; /* lowercase; ' ' is any run of blanks, ':' may follow a blank */
	enum bounce_subject kind;
	bool strong;
};

#define F(s) { s, BOUNCE_SUBJECT_FAILURE, true }
#define FW(s) { s, BOUNCE_SUBJECT_FAILURE, false }
#define A(s) { s, BOUNCE_SUBJECT_AUTOREPLY, true }
#define AW(s) { s, BOUNCE_SUBJECT_AUTOREPLY, false }

/* What mail systems and mail programs put at the start of the subject, per
 * language (the consortium's members, and Russian for the providers that
 * bounce in it). Outlook and Exchange write "Undeliverable:" and
 * "Automatic reply:" in the user's language; the rest are MTA and webmail
 * texts. Weak ones are words a person may start an inquiry with. */
static const struct phrase phrases[] = {
	/* en */
	F("undelivered mail returned to sender"), F("undeliverable"), F("returned mail:"),
	F("mail delivery failed"), F("mail delivery failure"), F("delivery status notification"),
	F("failure notice"), F("delivery failure"), F("delivery notification: delivery has failed"),
	F("non-delivery"), F("non delivery notification"), F("nondeliverable"),
	F("message delivery failure"), F("message delivery has failed"),
	F("mail could not be delivered"), F("message not delivered"), F("warning: message"),
	F("warning: could not send"), F("permanent delivery failure"),
	F("email delivery failure"), F("mail delivery status"), F("notice: mail delivery status"),
	F("sorry, your message could not be delivered"), F("mail system error - returned mail"),
	F("complaint about message from"), F("postmaster notify:"), F("delayed mail"),
	F("delivery delayed"), F("undelivered mail"),
	FW("returned mail"), FW("delivery status"), FW("delivery report"),
	FW("delivery notification"), FW("mail system error"), FW("mail failure"),
	FW("failed delivery"), FW("failure delivery"), FW("email bounce notification"),
	FW("there was an error sending your mail"), FW("mail failed"),
	/* de */
	F("unzustellbar"), F("nicht zustellbar"), F("unzustellbare nachricht"),
	F("zustellung fehlgeschlagen"), F("benachrichtigung zum zustellstatus"),
	F("nachricht konnte nicht zugestellt werden"), F("fehler bei der zustellung"),
	FW("rückläufer"),
	/* fr */
	F("non remis"), F("non distribuable"), F("échec de la remise"),
	F("echec de la remise"), F("échec de remise"), F("message non remis"),
	F("message non distribué"), F("rapport de non-remise"),
	F("notification d'état de remise"), F("courrier non distribué"),
	F("impossible de remettre le message"), FW("retour de courrier"),
	/* it */
	F("non recapitabile"), F("impossibile recapitare"), F("mancato recapito"),
	F("messaggio non recapitato"), F("notifica dello stato di recapito"),
	F("notifica stato di consegna"), F("consegna non riuscita"), F("mail non consegnata"),
	/* es */
	F("no se puede entregar"), F("no se pudo entregar"), F("imposible entregar"),
	F("mensaje no entregado"), F("correo no entregado"),
	F("notificación de estado de entrega"), F("error en la entrega"),
	F("fallo en la entrega"), FW("devolución de correo"), FW("no entregado"),
	/* ca */
	F("no es pot lliurar"), F("no s'ha pogut lliurar"), F("missatge no lliurat"),
	F("correu no lliurat"), F("error de lliurament"),
	/* pt */
	F("não é possível entregar"), F("não foi possível entregar"),
	F("não entregue"), F("mensagem não entregue"), F("falha na entrega"),
	F("impossível entregar"), F("notificação de status de entrega"),
	F("não foi entregue"), FW("devolução de correio"),
	/* nl */
	F("onbestelbaar"), F("kan niet worden bezorgd"), F("niet bezorgd"), F("niet afgeleverd"),
	F("bezorging mislukt"), F("bericht niet afgeleverd"), FW("retour afzender"),
	/* da, no */
	F("kan ikke leveres"), F("kunne ikke leveres"), F("ikke leveret"), F("ikke levert"),
	F("levering mislykkedes"), F("levering mislyktes"), F("ikke-leverbar"),
	F("kan ikkje leverast"), FW("returneret post"),
	/* sv */
	F("kan inte levereras"), F("kunde inte levereras"), F("olevererbart"), F("ej levererat"),
	F("inte levererat"), F("leverans misslyckades"), F("meddelandet kunde inte levereras"),
	FW("returnerat meddelande"),
	/* fi */
	F("ei voi toimittaa"), F("ei voitu toimittaa"), F("toimittamaton"),
	F("toimitus epäonnistui"), F("viestiä ei voitu toimittaa"),
	F("perillemenemätön"), FW("palautettu viesti"),
	/* et */
	F("ei saa kohale toimetada"), F("ei saanud kohale toimetada"), F("kohaletoimetamatu"),
	F("kättetoimetamatu"), F("kohale toimetamata"), F("edastamine ebaõnnestus"),
	/* lt */
	F("nepristatoma"), F("nepristatomas"), F("nepristatytas"), F("negalima pristatyti"),
	F("nepavyko pristatyti"), F("laiškas nepristatytas"),
	/* lv */
	F("nepiegādājams"), F("nevar piegādāt"),
	F("nepiegādāts"), F("neizdevās piegādāt"),
	F("piegāde neizdevās"),
	/* pl */
	F("niedostarczalne"), F("nie można dostarczyć"),
	F("nie można doręczyć"), F("niedostarczona wiadomość"),
	F("wiadomość niedostarczona"),
	F("wiadomość nie została dostarczona"), F("nie dostarczono"),
	F("niedoręczalne"), FW("zwrot"),
	/* cs */
	F("nedoručitelné"), F("nedoručeno"),
	F("nelze doručit"), F("nedoručená zpráva"),
	F("zprávu nelze doručit"), F("doručení se nezdařilo"),
	FW("vrácená zpráva"),
	/* sk */
	F("nedoručiteľné"), F("nedoručené"),
	F("nedá sa doručiť"), F("nedoručená správa"),
	F("správu nemožno doručiť"), F("doručenie zlyhalo"),
	/* sl */
	F("ni mogoče dostaviti"), F("nedostavljivo"), F("nevročljivo"),
	F("sporočilo ni bilo dostavljeno"), F("nedostavljeno"), F("dostava ni uspela"),
	/* hr */
	F("neisporučivo"), F("nije isporučeno"), F("nije moguće isporučiti"),
	F("ne može se isporučiti"), F("isporuka nije uspjela"),
	F("poruka nije isporučena"),
	/* hu */
	F("kézbesíthetetlen"), F("nem kézbesíthető"),
	F("kézbesítési hiba"), F("sikertelen kézbesítés"),
	F("nem sikerült kézbesíteni"), FW("visszaküldött levél"),
	/* ro */
	F("nelivrabil"), F("nu se poate livra"), F("nu a putut fi livrat"), F("mesaj nelivrat"),
	F("livrare eșuată"), F("livrare eşuată"), F("livrare esuata"),
	F("nelivrat"),
	/* bg */
	F("недоставено"), F("недоставимо"), F("не може да бъде доставено"),
	F("неуспешна доставка"),
	/* el */
	F("ανεπίδοτο"), F("μη παραδοτέο"), F("δεν είναι δυνατή η παράδοση"),
	F("αποτυχία παράδοσης"),
	/* he */
	F("לא ניתן למסירה"), F("לא נמסר"), F("ההודעה לא נמסרה"),
	/* tr */
	F("teslim edilemedi"), F("teslim edilemeyen"), F("iletilemedi"), F("İletilemedi"),
	F("ulaştırılamadı"), F("teslimat başarısız"),
	/* ru */
	F("ваше сообщение не доставлено"), F("недоставленное сообщение"),

	/* en */
	A("automatic reply"), A("auto reply"), A("autoreply"), A("auto-reply"),
	A("auto response"), A("autoresponse"), A("auto-response"), A("automatic response"),
	A("out of office"), A("out of the office"), A("vacation reply"),
	AW("absence"), AW("vacation"), AW("away from the office"), AW("away from office"),
	/* de */
	A("abwesenheitsnotiz"), A("automatische antwort"), A("autom. antwort"),
	A("abwesenheitsmeldung"), AW("abwesenheit"), AW("abwesend"),
	AW("außer haus"),
	/* fr */
	A("réponse automatique"), A("reponse automatique"), A("absence du bureau"),
	A("absent du bureau"), A("message d'absence"),
	/* it */
	A("risposta automatica"), A("fuori ufficio"), A("risposta di assenza"), AW("fuori sede"),
	AW("assenza"),
	/* es */
	A("respuesta automática"), A("respuesta automatica"), A("fuera de la oficina"),
	A("fuera de oficina"), AW("ausente"), AW("ausencia"),
	/* ca */
	A("resposta automàtica"), A("fora de l'oficina"), AW("absència"),
	/* pt */
	A("resposta automática"), A("fora do escritório"), AW("ausência"),
	/* nl */
	A("automatisch antwoord"), A("afwezigheidsbericht"), A("afwezigheidsmelding"),
	A("buiten kantoor"), AW("niet aanwezig"), AW("afwezig"),
	/* da, no, sv */
	A("automatisk svar"), A("automatiskt svar"), A("autosvar"),
	A("fraværsmeddelelse"), A("fraværsmelding"),
	A("frånvaromeddelande"), A("ikke på kontoret"), A("inte på kontoret"),
	AW("fravær"), AW("frånvaro"),
	/* fi */
	A("automaattinen vastaus"), A("poissaoloilmoitus"), A("poissa toimistolta"),
	AW("poissa"),
	/* et */
	A("automaatvastus"), A("automaatne vastus"), A("kontorist väljas"), AW("eemal"),
	/* lt */
	A("automatinis atsakymas"), A("ne biure"), A("nėra biure"),
	/* lv */
	A("automātiskā atbilde"), A("ārpus biroja"),
	AW("prombūtnē"),
	/* pl */
	A("odpowiedź automatyczna"), A("automatyczna odpowiedź"),
	A("poza biurem"), AW("nieobecność"), AW("nieobecny"),
	/* cs */
	A("automatická odpověď"), A("mimo kancelář"),
	AW("nepřítomnost"),
	/* sk */
	A("automatická odpoveď"), A("mimo kancelárie"),
	AW("neprítomnosť"),
	/* sl */
	A("samodejni odgovor"), A("izven pisarne"), AW("odsotnost"),
	/* hr */
	A("automatski odgovor"), A("izvan ureda"), AW("odsutnost"),
	/* hu */
	A("automatikus válasz"), A("házon kívül"),
	A("irodán kívül"), AW("távollét"),
	/* ro */
	A("răspuns automat"), A("raspuns automat"), A("în afara biroului"),
	A("plecat din birou"),
	/* bg */
	A("автоматичен отговор"), A("извън офиса"),
	/* el */
	A("αυτόματη απάντηση"), A("εκτός γραφείου"),
	/* he */
	A("תשובה אוטומטית"), A("מענה אוטומטי"), A("מחוץ למשרד"),
	/* tr */
	A("otomatik yanıt"), A("otomatik cevap"), A("ofis dışında"),
};

/* Reply and forward prefixes of the same languages' mail programs. */
static const char prefixes[] = "re|fwd?|aw|wg|sv|vs|vl|antw|odp|pd|r|i|tr|rv|enc|res|doorst|fs|"
			       "ynt|ilt|İlt|odg|ats|vb|vá|továbbítás|απ|σχετ|προωθ|отг|пр|"
			       "השב|הועבר";

/* Subjects are matched on their first bytes only: a chain of prefixes
 * longer than this is no mail program's. */
#define SUBJECT_SCAN_MAX 2048

static pcre2_general_context *pcre_gc;
static pcre2_code *subject_re;
static pthread_once_t subject_once = PTHREAD_ONCE_INIT;

/* PCRE2's memory from xmalloc: out of memory stays fatal in one place. */
static void *
pcre_alloc(PCRE2_SIZE n, void *data)
{
	(void)data;
	return xmalloc(n ? n : 1);
}

static void
pcre_free(void *p, void *data)
{
	(void)data;
	free(p);
}

/* A phrase as a pattern: blanks match any run of blanks, a colon may
 * follow a blank (French "Non remis :"), an apostrophe is either one. */
static void
phrase_pattern(struct buf *b, const char *text)
{
	const unsigned char *t = (const unsigned char *)text;
	size_t n = strlen(text);

	for (size_t i = 0; i < n; i++) {
		unsigned char c = t[i];

		if (c == ' ')
			buf_addstr(b, "\\s+");
		else if (c == ':')
			buf_addstr(b, "\\s*:");
		else if (c == '\'')
			buf_addstr(b, "['\\x{2019}]");
		else if (c < 0x80 && !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
			buf_addf(b, "\\%c", c);
		else
			buf_addch(b, (char)c);
	}
	/* A whole phrase: not the start of a longer word. */
	if (t[n - 1] >= 0x80 || (t[n - 1] >= 'a' && t[n - 1] <= 'z'))
		buf_addstr(b, "(?![\\p{L}\\p{N}])");
}

static void
subject_compile(void)
{
	struct buf b = BUF_INIT;
	int errcode;
	PCRE2_SIZE erroff;
	pcre2_compile_context *cc;

	pcre_gc = pcre2_general_context_create(pcre_alloc, pcre_free, NULL);
	cc = pcre2_compile_context_create(pcre_gc);
	buf_init(&b, 0);
	buf_addf(&b, "^\\s*(?:(?:%s)\\s*(?:\\[\\d{1,3}\\])?\\s*:\\s*)*+(?:", prefixes);
	for (size_t i = 0; i < ARRAY_SIZE(phrases); i++) {
		buf_addstr(&b, i ? "|" : "");
		phrase_pattern(&b, phrases[i].text);
		buf_addf(&b, "(*MARK:%zu)", i);
	}
	buf_addch(&b, ')');
	subject_re = pcre2_compile((PCRE2_SPTR)buf_cstr(&b), b.len,
				   PCRE2_CASELESS | PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF,
				   &errcode, &erroff, cc);
	pcre2_compile_context_free(cc);
	if (!subject_re) {
		PCRE2_UCHAR msg[256];

		/* The tables above are wrong: a bug, caught by test_bounce. */
		pcre2_get_error_message(errcode, msg, sizeof(msg));
		fprintf(stderr, "secdesk: internal error: bounce phrases: %s at %zu\n", (char *)msg,
			(size_t)erroff);
		abort();
	}
	if (!getenv("SECDESK_PCRE2_NO_JIT"))
		(void)pcre2_jit_compile(subject_re, PCRE2_JIT_COMPLETE);
	buf_release(&b);
}

enum bounce_subject
bounce_subject_kind(const char *subject, bool *strong)
{
	pcre2_match_data *md;
	enum bounce_subject kind = BOUNCE_SUBJECT_NONE;
	size_t len;
	int rc;

	if (strong)
		*strong = false;
	if (!subject || !*subject)
		return BOUNCE_SUBJECT_NONE;
	pthread_once(&subject_once, subject_compile);
	len = strnlen(subject, SUBJECT_SCAN_MAX);
	md = pcre2_match_data_create(1, pcre_gc);
	rc = pcre2_match(subject_re, (PCRE2_SPTR)subject, len, 0, 0, md, NULL);
	if (rc > 0) {
		PCRE2_SPTR mark = pcre2_get_mark(md);
		size_t i = mark ? strtoul((const char *)mark, NULL, 10) : ARRAY_SIZE(phrases);

		if (i < ARRAY_SIZE(phrases)) {
			kind = phrases[i].kind;
			if (strong)
				*strong = phrases[i].strong;
		}
	}
	pcre2_match_data_free(md);
	return kind;
}

bool
bounce_mailer_sender(const char *addr, const char *name)
{
	static const char *const locals[] = {
		"mailer-daemon", "mailer_daemon", "mailerdaemon", "mail-daemon", "mail_daemon",
		"maildaemon", "mail.daemon", "postmaster", "post_master", "post-master", "mailer",
		"mdaemon",
	};
	static const char *const names[] = {
		"mail delivery system", "mail delivery subsystem", "mail delivery service",
		"mail administrator", "mail system", "mailer-daemon", "mailer daemon", "postmaster",
		"mail delivery",
	};
	const char *at = addr ? strrchr(addr, '@') : NULL;
	size_t n = at ? (size_t)(at - addr) : (addr ? strlen(addr) : 0);

	for (size_t i = 0; n && i < ARRAY_SIZE(locals); i++)
		if (ascii_eq_ci(addr, n, locals[i]))
			return true;
	if (!name || !*name)
		return false;
	n = strlen(name);
	while (n && (name[n - 1] == ' ' || name[n - 1] == '"'))
		n--;
	while (n && (*name == ' ' || *name == '"')) {
		name++;
		n--;
	}
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (ascii_eq_ci(name, n, names[i]))
			return true;
	/* No address at all: "MAILER-DAEMON (Mail Delivery System)" */
	for (size_t i = 0; (!addr || !*addr) && i < ARRAY_SIZE(locals); i++)
		if (n >= strlen(locals[i]) && strncasecmp(name, locals[i], strlen(locals[i])) == 0)
			return true;
	return false;
}

/* The start of the line that holds p, past blanks and '>' quote marks. */
static const char *
line_body(const char *text, const char *p)
{
	const char *bol = p;

	while (bol > text && bol[-1] != '\n')
		bol--;
	while (bol < p && (*bol == ' ' || *bol == '\t' || *bol == '>'))
		bol++;
	return bol;
}

/* Is hit (at ".secdesk@") the end of "Message-ID: <DIGITS.HEX" on a line
 * of its own? */
static bool
desk_msgid_line(const char *text, const char *hit)
{
	const char *p = line_body(text, hit), *q = hit;
	size_t hex = 0;

	if (strncasecmp(p, "message-id:", 11) != 0)
		return false;
	p += 11;
	while (p < hit && (*p == ' ' || *p == '\t'))
		p++;
	if (p < hit && *p == '<')
		p++;
	while (q > p && ((q[-1] >= '0' && q[-1] <= '9') || (q[-1] >= 'a' && q[-1] <= 'f'))) {
		q--;
		hex++;
	}
	if (hex != 24 || q - 1 <= p || q[-1] != '.')
		return false;
	q--;
	while (q > p && q[-1] >= '0' && q[-1] <= '9')
		q--;
	return q == p && hit - p > 26;
}

/* Is hit the start of "Auto-Submitted: auto-..." followed on the next line
 * by "X-Auto-Response-Suppress: All", as secdesk writes them? */
static bool
desk_auto_lines(const char *text, const char *end, const char *hit)
{
	static const char next[] = "X-Auto-Response-Suppress: All";
	const char *nl = memchr(hit, '\n', (size_t)(end - hit));
	const char *p;

	if (line_body(text, hit) != hit || !nl)
		return false;
	p = nl + 1;
	while (p < end && (*p == ' ' || *p == '\t' || *p == '>'))
		p++;
	return (size_t)(end - p) >= sizeof(next) - 1 && memcmp(p, next, sizeof(next) - 1) == 0;
}

bool
bounce_quotes_desk_mail(const char *text, size_t len)
{
	static const char auto_hdr[] = "Auto-Submitted: auto-";
	const char *end, *p, *hit;

	if (!text)
		return false;
	end = text + (len < BOUNCE_SCAN_MAX ? len : BOUNCE_SCAN_MAX);
	for (p = text; (hit = memmem(p, (size_t)(end - p), ".secdesk@", 9)); p = hit + 9)
		if (desk_msgid_line(text, hit))
			return true;
	for (p = text; (hit = memmem(p, (size_t)(end - p), auto_hdr, sizeof(auto_hdr) - 1));
	     p = hit + 1)
		if (desk_auto_lines(text, end, hit))
			return true;
	return false;
}
