#!/usr/bin/env python3
"""Write a realistic, deterministic feedsvc content directory of N posts.

Usage: bench/gen_corpus.py N OUTDIR [--seed 1] [--jobs 2]

6 categories, ~60 tags (some with accents), 3 languages (en, fr, es); Markdown bodies of
300-1,500 words with headings, links (absolute and relative), lists, blockquotes, tables,
code, some inline HTML (and a little that the sanitiser must strip); attachments, events,
explicit summaries, authors, updated dates, images and aliases on a share of posts.
Post i depends only on (seed, i), so the output is the same whatever --jobs is.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
from datetime import date, timedelta
from multiprocessing import Pool
from pathlib import Path

CATEGORIES = [
    ("statements", "Statements", "Statements and interventions delivered at UN meetings"),
    ("publications", "Publications", "Reports and report launches"),
    ("letters", "Letters", "Open letters and correspondence with decision makers"),
    ("events", "Events", "Events, side events and webinars"),
    ("press", "Press statements", "Press statements and public positions"),
    ("briefings", "Briefings", "Technical and policy briefings"),
]
CATEGORY_WEIGHTS = [30, 20, 10, 20, 12, 8]

TAGS = [
    "HIV",
    "Hepatitis C",
    "Harm reduction",
    "Naloxone",
    "Opioid agonist therapy",
    "CND",
    "UNAIDS",
    "WHO",
    "Global Fund",
    "PEPFAR",
    "Decriminalisation",
    "Human rights",
    "Women who use drugs",
    "Youth",
    "Prisons",
    "Stigma",
    "Community-led monitoring",
    "Drug checking",
    "Overdose",
    "Safe consumption sites",
    "COVID-19",
    "Funding",
    "Key populations",
    "Africa",
    "Asia",
    "Europe",
    "Latin America",
    "North America",
    "Oceania",
    "Eastern Europe",
    "Central Asia",
    "Research",
    "Peer support",
    "Advocacy",
    "Law reform",
    "Policing",
    "Gender",
    "Tuberculosis",
    "Mental health",
    "Housing",
    "Sex work",
    "Trans people",
    "Migration",
    "Indigenous peoples",
    "Cannabis",
    "Stimulants",
    "Chemsex",
    "Needle and syringe programmes",
    "Treatment access",
    "Réduction des risques",
    "Droits humains",
    "Salud pública",
    "Políticas de drogas",
    "São Paulo",
    "Genève",
    "Côte d'Ivoire",
    "México",
    "Zürich",
    "United Nations",
    "Vienna",
]

LANGS = [("en", 70), ("fr", 18), ("es", 12)]

_EN = """the of and to in a is that for on with as by this people who use drugs are be have from
at it their not was or an we health services rights harm reduction access care community support
policy government programme network report countries national global treatment funding public
law criminal justice evidence response prevention women young communities member states
commission meeting statement session international organisations civil society key populations
needs human dignity without discrimination stigma violence police prison detention ensure
decriminalisation review data research survey results findings recommendations implementation
resources investment sustainable response scale coverage testing diagnosis viral hepatitis
overdose deaths naloxone opioid agonist therapy methadone buprenorphine needle syringe
programmes peer outreach workers services led organisations meaningful involvement participation
leadership decision making process consultation partners donors fund grants transition
domestic financing cuts risk barriers legal environment reform protection safety wellbeing
quality life evidence based approaches across regions local level city urban rural settings
during year years month today call urge welcome recognise concern deeply committed work together
continue strengthen improve expand develop provide remove end protect respect""".split()

_FR = """le la les de des du et à un une est que pour sur avec par dans ce cette personnes qui
usagers drogues sont être ont droits santé réduction des risques accès soins communauté soutien
politique gouvernement programme réseau rapport pays national mondial traitement financement
public loi pénal justice données prévention femmes jeunes communautés états membres commission
réunion déclaration session internationales organisations société civile populations clés besoins
dignité humaine sans discrimination stigmatisation violence police prison détention garantir
dépénalisation examen recherche enquête résultats recommandations mise œuvre ressources
investissement durable réponse dépistage diagnostic hépatite virale surdose décès méthadone
programmes pairs travailleurs services menées participation leadership décisions processus
consultation partenaires bailleurs fonds transition risque obstacles juridique réforme protection
sécurité bien-être qualité vie approches fondées régions niveau local ville rurales année mois
aujourd'hui appelons saluons reconnaissons préoccupation engagés travailler ensemble renforcer
améliorer élargir développer fournir supprimer mettre fin protéger respecter""".split()

_ES = """el la los las de del y a un una es que para en con por este esta personas quienes usan
drogas son ser tienen derechos salud reducción daños acceso atención comunidad apoyo política
gobierno programa red informe países nacional mundial tratamiento financiación público ley penal
justicia evidencia prevención mujeres jóvenes comunidades estados miembros comisión reunión
declaración sesión internacionales organizaciones sociedad civil poblaciones clave necesidades
dignidad humana sin discriminación estigma violencia policía prisión detención garantizar
despenalización examen investigación encuesta resultados recomendaciones implementación recursos
inversión sostenible respuesta cobertura pruebas diagnóstico hepatitis viral sobredosis muertes
naloxona metadona programas pares trabajadores servicios dirigidos participación liderazgo
decisiones proceso consulta socios donantes fondos transición riesgo barreras jurídico reforma
protección seguridad bienestar calidad vida enfoques basados regiones nivel local ciudad zonas
rurales año mes hoy pedimos acogemos reconocemos preocupación comprometidos trabajar juntos
fortalecer mejorar ampliar desarrollar proporcionar eliminar poner fin proteger respetar""".split()

_SYLL = [
    "ka",
    "lo",
    "mi",
    "ne",
    "ra",
    "su",
    "ti",
    "ve",
    "zo",
    "an",
    "el",
    "or",
    "us",
    "ip",
    "et",
    "dra",
    "pre",
    "str",
    "gon",
    "mal",
    "ber",
    "sel",
    "tur",
    "vin",
    "qua",
]
PLACES = [
    "Vienna",
    "Geneva",
    "Nairobi",
    "Bangkok",
    "Kyiv",
    "Lisbon",
    "Montréal",
    "Bogotá",
    "Jakarta",
    "Cape Town",
    "Tbilisi",
    "Kathmandu",
    "Dakar",
    "Lima",
    "Manila",
    "Oslo",
]
AUTHORS = [
    "Ana Souza",
    "Judy Chang",
    "Mat Southwell",
    "Niamh Eastwood",
    "Aditia Taslim",
    "Olga Belyaeva",
    "Jean-Luc Dupont",
    "María José Pérez",
]


def _vocab(base: list[str], rng: random.Random, extra: int) -> tuple[list[str], list[float]]:
    """Real function/content words plus synthetic rare words, Zipf-weighted."""
    words = list(dict.fromkeys(base))
    seen = set(words)
    while len(words) < len(base) + extra:
        w = "".join(rng.choice(_SYLL) for _ in range(rng.randint(2, 4)))
        if w not in seen:
            seen.add(w)
            words.append(w)
    weights = [1.0 / (r + 1) ** 1.05 for r in range(len(words))]
    return words, weights


def _sentences(lang_words: list[str], rng: random.Random, count: int) -> list[str]:
    words, weights = _vocab(lang_words, rng, 3000)
    out = []
    for _ in range(count):
        ws = rng.choices(words, weights, k=rng.randint(8, 24))
        ws[0] = ws[0].capitalize()
        out.append(" ".join(ws) + ("?" if rng.random() < 0.05 else "."))
    return out


class Pools:
    """Sentence pools per language, built once per process from the seed."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(f"pools-{seed}")
        self.sent = {"en": _sentences(_EN, rng, 6000), "fr": _sentences(_FR, rng, 3000), "es": _sentences(_ES, rng, 3000)}


_POOLS: Pools | None = None
_SEED = 1


def _init(seed: int) -> None:
    global _POOLS, _SEED
    _SEED = seed
    _POOLS = Pools(seed)


def _paragraph(rng: random.Random, sents: list[str], words_left: int, n: int) -> tuple[str, int]:
    parts = []
    count = 0
    for _ in range(rng.randint(2, 6)):
        s = rng.choice(sents)
        r = rng.random()
        if r < 0.12:  # a link: absolute or relative (absolutised by the renderer)
            w = s.split(" ", 3)
            if len(w) == 4:
                href = (
                    f"https://www.example.org/library/{n}-{rng.randint(1, 999)}"
                    if rng.random() < 0.6
                    else f"/posts/{n}#section-{rng.randint(1, 5)}"
                )
                s = f"{w[0]} [{w[1]} {w[2]}]({href}) {w[3]}"
        elif r < 0.17:
            w = s.split(" ", 2)
            if len(w) == 3:
                s = f"{w[0]} **{w[1]}** {w[2]}"
        elif r < 0.20:  # inline HTML that survives sanitising
            w = s.split(" ", 2)
            if len(w) == 3:
                s = f'{w[0]} <abbr title="{w[1]}">{w[1].upper()}</abbr> {w[2]}'
        elif r < 0.21:  # inline HTML that must be stripped
            s = f'{s} <span onclick="alert(1)" style="color:red">{rng.choice(PLACES)}</span>'
        parts.append(s)
        count += s.count(" ") + 1
        if count >= words_left:
            break
    return " ".join(parts), count


def _body(rng: random.Random, lang: str, n: int) -> str:
    assert _POOLS is not None
    sents = _POOLS.sent[lang]
    target = rng.randint(300, 1500)
    out: list[str] = []
    words = 0
    section = 0
    while words < target:
        r = rng.random()
        left = target - words
        if r < 0.10 and words > 60:
            section += 1
            level = "##" if rng.random() < 0.7 else "###"
            out.append(f"{level} {rng.choice(sents).rstrip('.')[:60].strip()}")
            words += 6
        elif r < 0.20:
            items = rng.randint(3, 7)
            ordered = rng.random() < 0.3
            lines = []
            for k in range(items):
                s = rng.choice(sents)
                lines.append(f"{k + 1}. {s}" if ordered else f"- {s}")
                words += s.count(" ") + 1
            out.append("\n".join(lines))
        elif r < 0.24:
            s, c = _paragraph(rng, sents, left, n)
            out.append("> " + s)
            words += c
        elif r < 0.26:
            rows = ["| Region | Services | Coverage |", "| --- | ---: | ---: |"]
            for p in rng.sample(PLACES, 4):
                rows.append(f"| {p} | {rng.randint(1, 400)} | {rng.randint(1, 99)}% |")
            out.append("\n".join(rows))
            words += 16
        elif r < 0.27:
            out.append(f"```\nnaloxone --dose {rng.randint(1, 8)}mg --route intranasal\n```")
            words += 5
        elif r < 0.28:
            out.append(f'<div class="callout"><p>{rng.choice(sents)}</p><script>track({n})</script></div>')
            words += 15
        elif r < 0.29:
            out.append(f"![{rng.choice(PLACES)} meeting](/images/{n}-{rng.randint(1, 9)}.jpg)")
        else:
            s, c = _paragraph(rng, sents, left, n)
            out.append(s)
            words += c
    return "\n\n".join(out) + "\n"


def _q(text: str) -> str:
    """A YAML double-quoted scalar."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def post(seed: int, n: int, total: int) -> tuple[str, str]:
    """(relative path, file text) of post ``n``; depends only on (seed, n)."""
    rng = random.Random(seed * 10_000_019 + n)
    assert _POOLS is not None
    lang = rng.choices([lang for lang, _ in LANGS], [w for _, w in LANGS])[0]
    sents = _POOLS.sent[lang]
    # Spread publication dates over ~12 years, newest posts last by number.
    day = date(2014, 1, 1) + timedelta(days=int(n * 4400 / max(total, 1)) + rng.randint(0, 3))
    cats = [rng.choices([c[0] for c in CATEGORIES], CATEGORY_WEIGHTS)[0]]
    if rng.random() < 0.15:
        other = rng.choice(CATEGORIES)[0]
        if other not in cats:
            cats.append(other)
    tags = rng.sample(TAGS, rng.randint(0, 6))
    title = rng.choice(sents).rstrip(".")[:90].strip() + f" ({n})"
    slug_words = "-".join(w.strip(".,;?").lower() for w in title.split()[:5] if w.isascii() and w.isalnum())
    slug = f"{slug_words or 'post'}-{n}"
    fm = [f"title: {_q(title)}"]
    if rng.random() < 0.3:
        fm.append(
            f"date: {day.isoformat()}T{rng.randint(6, 20):02d}:{rng.choice(['00', '15', '30', '45'])}:00"
            f"{rng.choice(['+00:00', '+02:00', '-05:00', '+05:30'])}"
        )
    else:
        fm.append(f"date: {day.isoformat()}")
    if rng.random() < 0.2:
        fm.append(f"updated: {(day + timedelta(days=rng.randint(1, 40))).isoformat()}T12:00:00Z")
    fm.append("categories: [" + ", ".join(cats) + "]")
    if tags:
        fm.append("tags: [" + ", ".join(_q(t) for t in tags) + "]")
    if lang != "en":
        fm.append(f"lang: {lang}")
    if rng.random() < 0.4:
        fm.append("summary: >-\n  " + " ".join(rng.choice(sents) for _ in range(2)))
    if rng.random() < 0.25:
        a = rng.choice(AUTHORS)
        if rng.random() < 0.5:
            fm.append(f"author: {_q(a)}")
        else:
            fm.append(
                f"author:\n  name: {_q(a)}\n  email: {a.split()[0].lower()}@example.org\n"
                f"  uri: https://www.example.org/people/{a.split()[0].lower()}"
            )
    if rng.random() < 0.2:
        fm.append(f"image: /images/{n}.jpg")
    if "publications" in cats or rng.random() < 0.08:
        fm.append("attachments:")
        for k in range(rng.randint(1, 3)):
            kind = rng.choice(
                [
                    ("pdf", "application/pdf"),
                    ("mp3", "audio/mpeg"),
                    ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
                ]
            )
            fm.append(
                f"  - url: /files/{n}-{k}.{kind[0]}\n    mime_type: {kind[1]}\n"
                f"    size_in_bytes: {rng.randint(10_000, 9_000_000)}\n    title: {_q(rng.choice(sents)[:50])}"
            )
    if "events" in cats:
        start = day + timedelta(days=rng.randint(3, 40))
        hour = rng.randint(8, 18)
        fm.append("event:")
        if rng.random() < 0.5:
            fm.append(
                f"  start: {start.isoformat()}T{hour:02d}:00:00\n  end: {start.isoformat()}T{hour + 2:02d}:00:00\n"
                f"  timezone: {rng.choice(['Europe/Vienna', 'America/New_York', 'Asia/Bangkok', 'Africa/Nairobi'])}"
            )
        else:
            fm.append(f"  start: {start.isoformat()}T{hour:02d}:00:00+01:00")
        fm.append(f"  location: {_q(rng.choice(PLACES) + ' and online')}")
        if rng.random() < 0.5:
            fm.append(f"  url: https://events.example.org/{n}")
    if rng.random() < 0.02:
        fm.append(f"aliases: [old-{slug}]")
    text = "---\n" + "\n".join(fm) + "\n---\n" + _body(rng, lang, n)
    return f"posts/{day.year}/{day.isoformat()}-{slug}.md", text


def site_yaml(n: int) -> str:
    """The site.yaml of a bench corpus."""
    cats = "\n".join(f"  {s}:\n    title: {t}\n    description: {d}" for s, t, d in CATEGORIES)
    return (
        f"title: feedsvc bench corpus ({n} posts)\nsubtitle: Generated by bench/gen_corpus.py\n"
        "base_url: http://127.0.0.1:8000\nid_authority: bench.example.org,2014\nlanguage: en\n"
        "timezone: Europe/London\nauthor:\n  name: Bench Network\n  email: news@example.org\n"
        "  uri: https://www.example.org/\nrights: © 2014 Bench Network\n"
        f"categories:\n{cats}\n"
    )


def _write_chunk(args: tuple[str, int, int, int, int]) -> int:
    out, seed, total, lo, hi = args
    root = Path(out)
    made: set[str] = set()
    for n in range(lo, hi):
        rel, text = post(seed, n, total)
        d = rel.rsplit("/", 1)[0]
        if d not in made:
            (root / d).mkdir(parents=True, exist_ok=True)
            made.add(d)
        with open(root / rel, "w", encoding="utf-8") as fh:
            fh.write(text)
    return hi - lo


def generate(n: int, out: str | os.PathLike[str], seed: int = 1, jobs: int = 0) -> None:
    """Write a corpus of ``n`` posts to ``out`` (replacing it)."""
    root = Path(out)
    if root.exists():
        shutil.rmtree(root)
    (root / "posts").mkdir(parents=True)
    (root / "site.yaml").write_text(site_yaml(n), encoding="utf-8")
    jobs = jobs or min(os.cpu_count() or 1, 4)
    step = 2000
    chunks = [(str(root), seed, n, lo, min(n, lo + step)) for lo in range(0, n, step)]
    if jobs == 1 or n <= step:
        _init(seed)
        for c in chunks:
            _write_chunk(c)
    else:
        with Pool(jobs, initializer=_init, initargs=(seed,)) as pool:
            for _ in pool.imap_unordered(_write_chunk, chunks):
                pass


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int, help="number of posts")
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=0, help="worker processes (default: CPUs, at most 4)")
    a = ap.parse_args(argv)
    generate(a.n, a.outdir, a.seed, a.jobs)
    print(f"wrote {a.n} posts to {a.outdir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
