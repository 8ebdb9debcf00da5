"""Seeded synthetic full-length news articles (~850 words, paragraphs of varied length, en/fr/de/es) for benchmarks.

The text is invented; it only has to look like news to a tokenizer and a chunker: real words, names,
figures and dates, sentences of 10–35 words, paragraphs of one to seven sentences.

    .venv/bin/python scripts/longnews.py OUT_FOLDER [--count 40] [--seed 7] [--jsonl]
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

WORDS = {
    "en": {
        "who": [
            "the mayor",
            "the regional council",
            "a spokesperson for the port authority",
            "union leaders",
            "the company's chief executive",
            "local residents",
            "the transport ministry",
            "independent analysts",
        ],
        "did": [
            "said on Tuesday that",
            "confirmed in a statement that",
            "warned that",
            "told reporters that",
            "announced at a press conference that",
            "argued in a letter to shareholders that",
        ],
        "what": [
            "the new tram line would open {n} months later than planned",
            "construction costs had risen to €{m} million",
            "about {n},{k}00 workers would join the strike on Monday",
            "the budget for next year included {m} million for flood defences",
            "exports fell by {p} percent in the third quarter",
            "the plant in the north of the city would hire {n}00 people",
            "talks with the suppliers had broken down after {n} weeks",
            "ticket prices would stay unchanged until the end of {y}",
        ],
        "tail": [
            "according to figures published by the statistics office",
            "although several questions remained unanswered",
            "despite criticism from opposition parties",
            "after a long debate in the assembly",
            "citing rising energy prices and a shortage of staff",
        ],
    },
    "fr": {
        "who": [
            "le maire",
            "le conseil régional",
            "un porte-parole de l'autorité portuaire",
            "les syndicats",
            "le directeur général de l'entreprise",
            "les habitants du quartier",
            "le ministère des transports",
        ],
        "did": [
            "a déclaré mardi que",
            "a confirmé dans un communiqué que",
            "a averti que",
            "a indiqué à la presse que",
            "a annoncé lors d'une conférence de presse que",
        ],
        "what": [
            "la nouvelle ligne de tramway ouvrirait avec {n} mois de retard",
            "le coût des travaux avait atteint {m} millions d'euros",
            "environ {n} {k}00 salariés rejoindraient la grève lundi",
            "les exportations avaient reculé de {p} % au troisième trimestre",
            "l'usine du nord de la ville embaucherait {n}00 personnes",
            "les négociations avec les fournisseurs avaient échoué après {n} semaines",
        ],
        "tail": [
            "selon les chiffres publiés par l'office statistique",
            "malgré les critiques de l'opposition",
            "après un long débat à l'assemblée",
            "en invoquant la hausse des prix de l'énergie",
        ],
    },
    "de": {
        "who": [
            "der Bürgermeister",
            "der Regionalrat",
            "eine Sprecherin der Hafenbehörde",
            "die Gewerkschaften",
            "der Vorstandschef des Unternehmens",
            "Anwohner des Viertels",
            "das Verkehrsministerium",
        ],
        "did": [
            "sagte am Dienstag, dass",
            "bestätigte in einer Mitteilung, dass",
            "warnte, dass",
            "erklärte vor Journalisten, dass",
            "kündigte auf einer Pressekonferenz an, dass",
        ],
        "what": [
            "die neue Straßenbahnlinie {n} Monate später als geplant eröffnet werde",
            "die Baukosten auf {m} Millionen Euro gestiegen seien",
            "rund {n}.{k}00 Beschäftigte sich am Montag dem Streik anschließen würden",
            "die Exporte im dritten Quartal um {p} Prozent gesunken seien",
            "das Werk im Norden der Stadt {n}00 Menschen einstellen werde",
            "die Gespräche mit den Zulieferern nach {n} Wochen gescheitert seien",
        ],
        "tail": [
            "wie aus Zahlen des Statistikamts hervorgeht",
            "trotz Kritik der Opposition",
            "nach einer langen Debatte im Landtag",
            "unter Verweis auf gestiegene Energiepreise",
        ],
    },
    "es": {
        "who": [
            "el alcalde",
            "el consejo regional",
            "una portavoz de la autoridad portuaria",
            "los sindicatos",
            "el consejero delegado de la empresa",
            "los vecinos del barrio",
            "el ministerio de transportes",
        ],
        "did": [
            "dijo el martes que",
            "confirmó en un comunicado que",
            "advirtió de que",
            "explicó a la prensa que",
            "anunció en una rueda de prensa que",
        ],
        "what": [
            "la nueva línea de tranvía abriría con {n} meses de retraso",
            "el coste de las obras había subido a {m} millones de euros",
            "unos {n}.{k}00 trabajadores se sumarían a la huelga el lunes",
            "las exportaciones cayeron un {p} % en el tercer trimestre",
            "la fábrica del norte de la ciudad contrataría a {n}00 personas",
            "las negociaciones con los proveedores fracasaron tras {n} semanas",
        ],
        "tail": [
            "según las cifras publicadas por el instituto de estadística",
            "pese a las críticas de la oposición",
            "tras un largo debate en el pleno",
            "alegando la subida de los precios de la energía",
        ],
    },
}
TOWNS = ["Varneck", "Solberg", "Castelmora", "Brenzano", "Lunavia", "Ostrava Nova", "Kellmark", "Piedralta"]
TITLES = {
    "en": "{town}: {topic} dispute enters its {n}th week",
    "fr": "{town} : le dossier {topic} entre dans sa {n}e semaine",
    "de": "{town}: Streit um {topic} geht in die {n}. Woche",
    "es": "{town}: la disputa por {topic} entra en su semana {n}",
}
TOPICS = ["tram", "port", "budget", "factory", "housing", "energy", "airport", "hospital"]


def _sentence(rng: random.Random, language: str) -> str:
    words = WORDS[language]
    what = rng.choice(words["what"]).format(
        n=rng.randint(2, 19),
        k=rng.randint(1, 9),
        m=rng.randint(12, 980),
        p=rng.randint(2, 14),
        y=rng.randint(2024, 2027),
    )
    sentence = f"{rng.choice(words['who'])} {rng.choice(words['did'])} {what}"
    if rng.random() < 0.6:
        sentence += f", {rng.choice(words['tail'])}"
    if rng.random() < 0.4:
        sentence = f"In {rng.choice(TOWNS)}, {sentence}" if language == "en" else f"{rng.choice(TOWNS)} — {sentence}"
    return sentence[0].upper() + sentence[1:] + "."


def article(rng: random.Random, number: int, words: int = 850) -> dict[str, str]:
    """One article as a record (id, title, text, language, published, source): paragraphs of 1–7 sentences."""
    language = rng.choice(list(WORDS))
    paragraphs: list[str] = []
    count = 0
    while count < words:
        paragraph = " ".join(_sentence(rng, language) for _ in range(rng.choice([1, 1, 2, 3, 3, 4, 5, 7])))
        paragraphs.append(paragraph)
        count += len(paragraph.split())
    town, topic = rng.choice(TOWNS), rng.choice(TOPICS)
    published = date(2024, 1, 1) + timedelta(days=rng.randint(0, 700))
    return {
        "id": f"long-{language}-{number:05d}",
        "title": TITLES[language].format(town=town, topic=topic, n=rng.randint(2, 9)),
        "text": "\n\n".join(paragraphs),
        "language": language,
        "published": published.isoformat(),
        "source": f"{town} Courier",
    }


def articles(count: int, seed: int = 7, words: int = 850) -> Iterator[dict[str, str]]:
    """`count` articles, the same ones for the same seed."""
    rng = random.Random(seed)
    for number in range(count):
        yield article(rng, number, words)


def write_markdown(folder: Path, count: int, seed: int = 7) -> list[Path]:
    """Write `count` articles as Markdown files with front matter (the format of samples/news)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for record in articles(count, seed):
        # Values quoted (JSON strings are YAML strings): a title holds ": ".
        keys = ("id", "title", "source", "published", "language")
        head = "\n".join(f"{key}: {json.dumps(record[key])}" for key in keys)
        path = folder / f"{record['id']}.md"
        path.write_text(f"---\n{head}\n---\n{record['text']}\n", encoding="utf-8")
        paths.append(path)
    return paths


def write_jsonl(path: Path, target_bytes: int, seed: int = 7) -> int:
    """Write articles as JSON lines until the file holds at least `target_bytes`; returns the article count."""
    written = count = 0
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        while written < target_bytes:
            line = json.dumps(article(rng, count), ensure_ascii=False) + "\n"
            out.write(line)
            written += len(line.encode("utf-8"))
            count += 1
    return count


def main() -> None:
    """Write synthetic articles to a folder (Markdown) or one JSONL file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--jsonl-mb", type=float, help="write one JSONL file of about this many MB instead")
    args = parser.parse_args()
    if args.jsonl_mb:
        print(f"{write_jsonl(args.out, int(args.jsonl_mb * 1e6), args.seed)} articles in {args.out}")
    else:
        print(f"{len(write_markdown(args.out, args.count, args.seed))} articles in {args.out}")


if __name__ == "__main__":
    main()
