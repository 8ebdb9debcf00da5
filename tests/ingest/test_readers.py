"""Every input format, and every kind of bad input, through the real readers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from qa.ingest.readers import read_paths
from qa.ingest.records import content_hash

BODY = (
    "La ville de Lyon a inauguré lundi une nouvelle ligne de tramway. "
    "Elle relie la gare à l'université en vingt minutes."
)


def test_markdown_front_matter(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text(
        "---\nid: lyon-tram\ntitle: Nouveau tram à Lyon\nsource: Le Petit Lyonnais\npublished: 2024-03-04\n"
        "language: fr\nauthor: Léa Martin\nsection: villes\n---\n" + BODY + "\n",
        encoding="utf-8",
    )
    result = read_paths([path])
    assert result.issues == []
    (article,) = result.articles
    assert article.id == "lyon-tram"
    assert article.title == "Nouveau tram à Lyon"
    assert article.text == BODY
    assert article.source == "Le Petit Lyonnais"
    assert article.published == datetime(2024, 3, 4, tzinfo=UTC)
    assert article.author == "Léa Martin"
    assert article.metadata["section"] == "villes"


def test_plain_text_first_line_is_title_and_language_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "tram.txt"
    path.write_text("Nouveau tram à Lyon\n\n" + BODY, encoding="utf-8")
    (article,) = read_paths([path]).articles
    assert article.title == "Nouveau tram à Lyon"
    assert article.text == BODY
    assert article.language == "fr"
    assert article.id == "doc-" + content_hash(article.title, article.text)


def test_text_without_title_line_keeps_whole_text(tmp_path: Path) -> None:
    path = tmp_path / "seed.txt"
    path.write_text(BODY, encoding="utf-8")
    (article,) = read_paths([path]).articles
    assert article.text == BODY
    assert article.title.startswith("La ville de Lyon")


def test_html_extracted_with_metadata(tmp_path: Path) -> None:
    paragraph = "The city council of Leeds approved a new cycling bridge over the river on Tuesday evening. " * 3
    html = (
        '<html lang="en"><head><title>Leeds approves bridge</title>'
        '<meta name="author" content="Sam Hall"><meta property="article:published_time" content="2024-05-07T18:00:00Z">'
        '<link rel="canonical" href="https://example.com/leeds-bridge"></head>'
        "<body><nav>Home | Sport | Weather</nav><article><h1>Leeds approves bridge</h1>"
        f"<p>{paragraph}</p><p>Construction starts in 2025 and costs 12 million pounds.</p></article>"
        "<footer>Copyright</footer></body></html>"
    )
    path = tmp_path / "leeds.html"
    path.write_text(html, encoding="utf-8")
    (article,) = read_paths([path]).articles
    assert article.title == "Leeds approves bridge"
    assert "cycling bridge" in article.text and "12 million pounds" in article.text
    assert "Home | Sport" not in article.text and "Copyright" not in article.text
    assert article.url == "https://example.com/leeds-bridge"
    assert article.author == "Sam Hall"
    assert article.published is not None and article.published.date().isoformat() == "2024-05-07"
    assert article.language == "en"


def test_jsonl_reports_broken_lines_and_keeps_good_ones(tmp_path: Path) -> None:
    good = {
        "id": "a1",
        "title": "T",
        "text": "Alpha beta gamma delta.",
        "published": "Tue, 05 Mar 2024 10:00:00 +0100",
        "source": "Wire",
        "tags": ["x"],
    }
    lines = [
        json.dumps(good),
        "{not json",
        json.dumps({"id": "a2", "title": "No text"}),
        "[1, 2]",
        json.dumps({"id": "a3", "text": "Some text here.", "published": "sometime soon-ish"}),
    ]
    path = tmp_path / "feed.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = read_paths([path])
    assert [a.id for a in result.articles] == ["a1", "a3"]
    assert result.articles[0].published == datetime(2024, 3, 5, 9, 0, tzinfo=UTC)
    assert result.articles[0].metadata["tags"] == ["x"]
    assert result.articles[1].published is None
    reasons = {issue.origin.rsplit(":", 1)[1]: issue for issue in result.issues}
    assert "invalid JSON" in reasons["2"].reason and reasons["2"].skipped
    assert "no article text" in reasons["3"].reason
    assert "expected a JSON object" in reasons["4"].reason
    assert "date ignored" in reasons["5"].reason and not reasons["5"].skipped


def test_json_list_and_csv(tmp_path: Path) -> None:
    (tmp_path / "list.json").write_text(
        json.dumps({"articles": [{"title": "A", "text": "One two three."}, {"title": "B", "text": "Four five six."}]})
    )
    (tmp_path / "rows.csv").write_text(
        "id,title,text,published,language\n"
        'c1,Row one,"Text, with a comma.",28 février 2024,fr\n'
        "c2,Row two,,2024-01-01,en\n",
        encoding="utf-8",
    )
    result = read_paths([tmp_path / "list.json", tmp_path / "rows.csv"])
    assert sorted(a.title for a in result.articles) == ["A", "B", "Row one"]
    row = next(a for a in result.articles if a.id == "c1")
    assert row.text == "Text, with a comma."
    assert row.published == datetime(2024, 2, 28, tzinfo=UTC)
    (issue,) = result.issues
    assert issue.origin.endswith("rows.csv:3") and "no article text" in issue.reason


def test_bad_files_are_reported_with_reasons(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "blank.md").write_text("   \n\n ")
    (tmp_path / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00IHDR")
    (tmp_path / "broken.json").write_text('{"title": "x", ')
    (tmp_path / "picture.png").write_bytes(b"\x89PNG")
    (tmp_path / "latin1.txt").write_bytes(
        "Café à Genève\n\nLe café coûte désormais cinq francs à Genève.".encode("latin-1")
    )
    (tmp_path / "unclosed.md").write_text("---\ntitle: x\nno end\n")
    result = read_paths([tmp_path, tmp_path / "missing.txt", tmp_path / "picture.png"])
    by_file = {Path(issue.origin.split(":")[0]).name: issue.reason for issue in result.issues}
    assert by_file["empty.txt"] == "empty file"
    assert by_file["blank.md"] == "file contains only white space"
    assert "binary" in by_file["binary.txt"]
    assert "invalid JSON" in by_file["broken.json"]
    assert "unsupported file type .png" in by_file["picture.png"]
    assert by_file["missing.txt"] == "no such file or folder"
    assert "never closed" in by_file["unclosed.md"]
    assert "not UTF-8" in by_file["latin1.txt"]
    (article,) = result.articles  # the Latin-1 file is still read, correctly decoded
    assert article.title == "Café à Genève" and "coûte" in article.text


def test_ids_given_url_or_content_are_stable(tmp_path: Path) -> None:
    rows = [{"title": "T", "text": "Same text.", "url": "https://example.com/x"}, {"title": "T", "text": "Same text."}]
    path = tmp_path / "a.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    first = read_paths([path]).articles
    second = read_paths([path]).articles
    assert [a.id for a in first] == [a.id for a in second]
    assert first[0].id.startswith("url-") and first[1].id.startswith("doc-")
    assert first[0].metadata["id_source"] == "url" and first[1].metadata["id_source"] == "content"
