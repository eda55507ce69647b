#!/usr/bin/env python3
# -*- coding: utf-8 -*-
"""Writes the harder labelled set of tests/mail/routing-hard: inquiries
written to conflict (a country named in passing, institutions without
their country, webmail senders, explicit questions about another member's
funder, regions against their countries, consortium-wide subjects, the
European Commission, non-members writing in a member's language, replies
and forwards), in every member language, with encoded headers and bodies.
Deterministic: the same files every run.

    tests/tools/routing_hard/gen.py tests/mail/routing-hard

MANIFEST: file, expected queue, expected category, expected language,
scenario."""
import os
import random
import sys
from email.message import EmailMessage
from email.policy import SMTP

HERE = os.path.dirname(os.path.abspath(__file__))
for f in ("phrases.py", "phrases_extra.py", "members.py"):
    exec(open(os.path.join(HERE, f), encoding="utf-8").read())

NAMES = {
    "en": ["Jane Smith", "Michael Brown"], "de": ["Anna Müller", "Jürgen Weiß"],
    "fr": ["Hélène Lefèvre", "François Martin"], "it": ["Giulia Rossi", "Niccolò Bianchi"],
    "es": ["María Fernández", "José Martínez"], "ca": ["Núria Puig", "Jordi Ferrer"],
    "pt": ["João Gonçalves", "Inês Sousa"], "nl": ["Sanne de Vries", "Joost Bakker"],
    "pl": ["Łukasz Wójcik", "Małgorzata Nowak"], "et": ["Kadri Tamm", "Jüri Saar"],
    "fi": ["Mikko Järvinen", "Päivi Korhonen"], "sv": ["Åsa Lindström", "Erik Johansson"],
    "da": ["Søren Jørgensen", "Mette Nielsen"], "no": ["Kari Nordmann", "Øyvind Hansen"],
    "cs": ["Jiří Dvořák", "Tereza Nováková"], "sk": ["Ľubomír Kováč", "Zuzana Horváthová"],
    "sl": ["Matej Kovačič", "Špela Novak"], "hr": ["Ivana Horvat", "Đuro Babić"],
    "hu": ["Zoltán Kovács", "Erzsébet Szőke"], "ro": ["Ioana Popescu", "Ștefan Ionescu"],
    "lt": ["Rūta Kazlauskienė", "Jonas Petrauskas"], "lv": ["Līga Bērziņa", "Jānis Kalniņš"],
    "tr": ["Ayşe Yılmaz", "Mehmet Şahin"], "el": ["Γιώργος Παπαδόπουλος", "Μαρία Γεωργίου"],
    "he": ["נועה כהן", "דוד לוי"], "bg": ["Иван Петров", "Мария Иванова"],
}
REPLY = {"de": "AW:", "sv": "SV:", "da": "SV:", "no": "SV:", "pl": "Odp:", "fr": "TR:",
         "fi": "VS:", "nl": "Antw:", "it": "R:", "es": "RE:", "pt": "RE:", "ca": "RE:",
         "hu": "Vá:", "cs": "Re:", "tr": "YNT:"}
WEBMAIL = ["gmail.com", "outlook.com", "yahoo.com", "gmx.net", "hotmail.com", "proton.me"]
# the language a member writes and the member that a language alone suggests
LANG_MEMBER = {"de": "DE", "fr": "FR", "es": "ES", "it": "IT", "nl": "NL", "pt": "PT", "pl": "PL",
               "et": "EE", "cs": "CZ", "da": "DK", "fi": "FI", "el": "GR", "hr": "HR", "hu": "HU",
               "he": "IL", "lt": "LT", "lv": "LV", "no": "NO", "sv": "SE", "sl": "SI", "tr": "TR",
               "ca": "ES-CT"}
QUOTE = "\n\n> Thank you for your message. We will get back to you shortly.\n> ICPerMed Secretariat\n"
SPAM = [
    ("You have won a prize", "Congratulations! You have won our lottery. Claim your prize now by sending the wire transfer fee."),
    ("SEO services for your website", "We offer search engine optimization and backlinks to get you on the first page of Google."),
    ("Bitcoin investment opportunity", "Double your bitcoin in a week with our guaranteed bitcoin investment plan."),
    ("Cheap viagra", "Buy viagra and cialis online without prescription, 80% off today."),
    ("Online casino bonus", "Join the best online casino and get a 500% jackpot bonus."),
]

rng = random.Random(20)
mails = []  # (queue, category, language, scenario, from_name, from_addr, subject, body)


def name_for(lang):
    return rng.choice(NAMES.get(lang, NAMES["en"]))


def local_part(name):
    """name as an address's local part: ASCII letters, dots between words;
    a name in another script gives a generic one."""
    import unicodedata
    flat = unicodedata.normalize("NFKD", name.lower().replace("ł", "l").replace("đ", "d")
                                 .replace("ø", "o").replace("ß", "ss").replace("ı", "i"))
    parts = "".join(c for c in flat if c.isascii() and (c.isalnum() or c == " ")).split()
    return ".".join(parts) if parts else "contact"


def compose(lang, cat, i, extra_lines=(), first_line=None, sign=None):
    p = B[lang]
    body_sentence = first_line or p["body"][cat][i % 2]
    lines = [p["hello"], "", body_sentence]
    lines += list(extra_lines)
    lines += ["", p["bye"], sign or ""]
    return "\n".join(lines).rstrip() + "\n"


def subject(lang, cat, i, reply=False):
    s = B[lang]["sub"][cat][i % 2]
    if reply:
        s = REPLY.get(lang, "Re:") + " " + s
    return s


def add(queue, cat, lang, scenario, name, addr, subj, body):
    mails.append((queue, cat, lang, scenario, name, addr, subj, body))


CATS = ["funding", "membership", "events", "general"]
members = list(M)
countries = [m for m in members if "-" not in m]

for k, m in enumerate(members):
    lang, inst, dom, place, funder, acr = M[m]
    other = countries[(k * 7 + 3) % len(countries)]
    if other == m or other == m.split("-")[0]:
        other = countries[(k * 7 + 5) % len(countries)]
    o_lang, o_inst, o_dom, o_place, o_funder, o_acr = M[other]
    # 1. own institution, own language
    for v in range(2):
        cat = CATS[(k + v) % 4]
        n = name_for(lang)
        sign = n + "\n" + inst
        add(m, cat, lang, "own", n, local_part(n) + "@" + dom,
            subject(lang, cat, v, reply=(v == 1 and k % 2 == 0)),
            compose(lang, cat, v, sign=sign) + (QUOTE if v == 1 and k % 4 == 0 else ""))
    # 2. a partner's country in passing
    for v in range(2):
        cat = CATS[(k + v + 1) % 4]
        n = name_for(lang)
        partner = B[lang]["partner"].format(inst=o_inst, place=o_place)
        add(m, cat, lang, "passing", n, local_part(n) + "@" + dom, subject(lang, cat, v),
            compose(lang, cat, v, extra_lines=[partner], sign=n + "\n" + inst))
    # 3. webmail, the institution named without its country (own language, then English)
    for v, wlang in enumerate((lang, "en")):
        cat = CATS[(k + v + 2) % 4]
        n = name_for(lang)
        work = B[wlang]["work"].format(inst=inst)
        add(m, cat, wlang, "webmail-institution", n, local_part(n) + "@" + WEBMAIL[(k + v) % len(WEBMAIL)],
            subject(wlang, cat, v, reply=(v == 0 and k % 3 == 1)),
            compose(wlang, cat, v, extra_lines=[work], sign=n))
    # 4. consortium-wide subjects: the secretariat's
    wide = k % 4
    n = name_for(lang)
    if wide == 0:
        cat, text = "press", X[lang][2]
    elif wide == 1:
        cat, text = "general", X[lang][0]
    elif wide == 2:
        cat, text = "general", X[lang][1]
    else:
        if lang in CONF:
            cat, text = "events", CONF[lang].format(place=o_place)
        else:
            cat, text = "press", X[lang][2]
    add("secretariat", cat, lang, "consortium-wide", n, local_part(n) + "@" + dom,
        {"press": B[lang]["sub"]["press"][1], "general": B[lang]["sub"]["general"][1],
         "events": B[lang]["sub"]["events"][1]}[cat] if cat != "general" else "ICPerMed",
        compose(lang, cat, 0, first_line=text, sign=n + "\n" + inst))

# 5. the language alone (webmail, no institution)
for k, (lang, m) in enumerate(sorted(LANG_MEMBER.items())):
    cat = CATS[k % 4]
    n = name_for(lang)
    add(m, cat, lang, "webmail-language", n, local_part(n) + "@" + WEBMAIL[k % len(WEBMAIL)],
        subject(lang, cat, k, reply=(k % 3 == 0)), compose(lang, cat, k, sign=n))

# 6. an explicit question about another member's funder: that member's
EXPLICIT_PAIRS = [("ES-CT", "ES"), ("ES", "ES-CT"), ("IT-25", "IT"), ("IT", "IT-25"),
                  ("CA-QC", "CA"), ("CA", "CA-QC"), ("DE", "AT"), ("AT", "DE"), ("BE", "NL"),
                  ("NL", "BE"), ("FR", "LU"), ("LU", "FR"), ("ES-AN", "ES"), ("ES", "ES-AN"),
                  ("IT-52", "IT"), ("IT", "IT-52"), ("PT", "ES"), ("AR", "ES"), ("IE", "CA"),
                  ("DE", "NL"), ("FR", "CA-QC"), ("ES", "AR"), ("PT", "FR"), ("IT", "FR")]
for k, (writer, target) in enumerate(EXPLICIT_PAIRS):
    lang, inst, dom, place = M[writer][:4]
    t_funder, t_acr = M[target][4], M[target][5]
    wlang = lang if lang in EXPLICIT else "en"
    n = name_for(wlang)
    line = EXPLICIT[wlang].format(acr=t_acr, funder=t_funder)
    add(target, "funding", wlang, "explicit-funder", n, local_part(n) + "@" + dom,
        subject(wlang, "funding", k), compose(wlang, "funding", k, first_line=line,
                                               extra_lines=[B[wlang]["body"]["funding"][k % 2]],
                                               sign=n + "\n" + inst))

# 7. the European Commission
EC_LANGS = ["en", "fr", "de", "en", "it", "es", "nl", "pl", "en", "pt"]
for k, lang in enumerate(EC_LANGS):
    n = name_for(lang)
    if k % 2 == 0:
        # EC staff from Brussels about the consortium's work
        body = compose(lang, "general", k, sign=n + "\nEuropean Commission, DG RTD\nBrussels")
        add("EC", "general", lang, "ec-staff", n, local_part(n) + "@ec.europa.eu",
            subject(lang, "general", k), body)
    else:
        # a company asking explicitly about the Horizon Europe rules
        company = {"fr": "biotech-sante.fr", "de": "genomik-gmbh.de", "it": "farmagen.it",
                   "es": "biomedica-sl.es", "nl": "pharmadata.nl", "pl": "biogen-polska.pl",
                   "en": "genomics-ltd.ie", "pt": "biosaude.pt"}[lang]
        add("EC", "funding", lang, "ec-horizon", n, local_part(n) + "@" + company,
            subject(lang, "funding", k), compose(lang, "funding", k, first_line=X[lang][3], sign=n))

# 8. non-members, in their language or a member's: the secretariat's
for k, (c, (lang, inst, dom, place)) in enumerate(sorted(N.items())):
    for v in range(2):
        cat = ["funding", "membership", "events", "general"][(k + v) % 4]
        n = name_for(lang)
        add("secretariat", cat, lang, "non-member", n, local_part(n) + "@" + dom,
            subject(lang, cat, v, reply=(v == 1)),
            compose(lang, cat, v, extra_lines=[B[lang]["work"].format(inst=inst)], sign=n))
    if lang not in ("bg", "ro", "sk"):
        n = name_for(lang)
        add("secretariat", "membership", lang, "non-member-joins", n, local_part(n) + "@" + dom,
            subject(lang, "membership", 0), compose(lang, "membership", 1, sign=n + "\n" + inst))

# 9. spam
for k, (s, b) in enumerate(SPAM):
    add("secretariat", "spam", "en", "spam", "Promo Team", "promo%d@offers-mail.example" % k, s, b + "\n")


def write(folder):
    os.makedirs(folder, exist_ok=True)
    man = ["# file\texpected queue\texpected category\texpected language\tscenario"]
    for i, (queue, cat, lang, scen, name, addr, subj, body) in enumerate(mails, 1):
        msg = EmailMessage(policy=SMTP)
        msg["From"] = "%s <%s>" % (name, addr)
        msg["To"] = "ICPerMed Secretariat <secretariat@icpermed.example>"
        msg["Subject"] = subj
        msg["Date"] = "Mon, 07 Dec 2026 %02d:%02d:00 +0000" % (8 + i // 60 % 10, i % 60)
        msg["Message-ID"] = "<hard-%03d@test.example>" % i
        cte = ["8bit", "quoted-printable", "base64"][i % 3]
        msg.set_content(body, charset="utf-8", cte=cte)
        fname = "%03d-%s.eml" % (i, lang)
        with open(os.path.join(folder, fname), "wb") as f:
            f.write(msg.as_bytes())
        man.append("\t".join((fname, queue, cat, lang, scen)))
    with open(os.path.join(folder, "MANIFEST"), "w", encoding="utf-8") as f:
        f.write("\n".join(man) + "\n")


if __name__ == "__main__":
    write(sys.argv[1] if len(sys.argv) > 1 else "tests/mail/routing-hard")
    print(len(mails), "mails")
