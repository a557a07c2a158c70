"""Parsing and validation of catalogue and taxonomy files (no database).

Every bad input must fail with one line naming the file, the row and the problem; these tests
pin the exact message a person fixing the file will read.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labeling.io import (
    InputError,
    RawProject,
    RejectedRow,
    RowWarning,
    TaxonomyEntry,
    detect_format,
    parse_projects,
    parse_taxonomy,
    read_file_bytes,
)


def error_of(data: bytes | str, filename: str = "p.json", **kwargs: object) -> str:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with pytest.raises(InputError) as caught:
        parse_projects(raw, filename, **kwargs)  # type: ignore[arg-type]
    return str(caught.value)


def parsed(data: bytes | str, filename: str = "p.json", **kwargs: object) -> list[RawProject]:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return parse_projects(raw, filename, **kwargs)  # type: ignore[arg-type]


def taxonomy_error(text: str, filename: str = "tags.json") -> str:
    with pytest.raises(InputError) as caught:
        parse_taxonomy(text.encode("utf-8"), filename)
    return str(caught.value)


# --- reading the file ------------------------------------------------------------------------


def test_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nope.json"
    with pytest.raises(InputError) as caught:
        read_file_bytes(path, 1_000)
    assert str(caught.value) == f"{path}: file not found"


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        read_file_bytes(tmp_path, 1_000)
    assert str(caught.value) == f"{tmp_path}: not a file"


def test_file_over_byte_limit_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_bytes(b"x" * 11)
    with pytest.raises(InputError) as caught:
        read_file_bytes(path, 10)
    assert str(caught.value) == f"{path}: file is 11 bytes, over the 10-byte limit"


def test_read_file_bytes_returns_content(tmp_path: Path) -> None:
    path = tmp_path / "ok.json"
    path.write_bytes(b"[]")
    assert read_file_bytes(path, 10) == b"[]"


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("a.json", "json"),
        ("a.JSON", "json"),
        ("a.csv", "csv"),
        ("a.jsonl", "jsonl"),
        ("a.ndjson", "jsonl"),
    ],
)
def test_detect_format_by_extension(filename: str, expected: str) -> None:
    assert detect_format(filename) == expected


def test_unknown_extension_is_rejected() -> None:
    assert error_of("[]", "p.txt") == "p.txt: unknown file type 'txt'; use .json, .csv or .jsonl"


def test_missing_extension_is_rejected() -> None:
    assert error_of("[]", "projects") == (
        "projects: unknown file type '(none)'; use .json, .csv or .jsonl"
    )


def test_unknown_explicit_format_is_rejected() -> None:
    assert error_of("[]", "p.json", file_format="xml") == (
        "p.json: unknown format 'xml'; use one of json, csv, jsonl"
    )


# --- encoding --------------------------------------------------------------------------------


def test_utf8_bom_is_accepted_in_json() -> None:
    projects = parsed(b'\xef\xbb\xbf[{"id": 1, "title": "caf\xc3\xa9"}]')
    assert [(p.external_id, p.title) for p in projects] == [("1", "café")]


def test_utf8_bom_is_accepted_in_csv_header() -> None:
    projects = parsed(b"\xef\xbb\xbfid,title\n1,a\n", "p.csv")
    assert [(p.external_id, p.title) for p in projects] == [("1", "a")]


def test_utf8_bom_is_accepted_in_jsonl() -> None:
    projects = parsed(b'\xef\xbb\xbf{"id": 1, "title": "a"}\n', "p.jsonl")
    assert [p.external_id for p in projects] == ["1"]


def test_latin1_file_is_rejected_with_line_and_column() -> None:
    data = '[{"id": 1, "title": "a"},\n{"id": 2, "title": "caf\xe9"}]'.encode("latin-1")
    assert error_of(data) == (
        "p.json: line 2, column 24: not UTF-8 text (byte 0xe9); save the file as UTF-8"
    )


def test_latin1_taxonomy_is_rejected() -> None:
    with pytest.raises(InputError) as caught:
        parse_taxonomy('{"caf\xe9": {}}'.encode("latin-1"), "tags.json")
    assert str(caught.value) == (
        "tags.json: line 1, column 6: not UTF-8 text (byte 0xe9); save the file as UTF-8"
    )


# --- JSON syntax and shape ---------------------------------------------------------------------


def test_invalid_json_names_line_and_column() -> None:
    assert error_of('[\n {"id": 1, "title": "a",}\n]') == (
        "p.json: line 2, column 25: not valid JSON: Expecting property name enclosed in "
        "double quotes"
    )


def test_empty_json_file_is_invalid_json() -> None:
    assert error_of("") == "p.json: line 1, column 1: not valid JSON: Expecting value"


def test_json_object_is_not_a_list() -> None:
    assert error_of('{"id": 1, "title": "a"}') == (
        "p.json: expected a JSON list of projects, found dict"
    )


def test_json_string_is_not_a_list() -> None:
    assert error_of('"projects"') == "p.json: expected a JSON list of projects, found str"


def test_json_object_with_projects_list_is_accepted() -> None:
    projects = parsed('{"projects": [{"id": 1, "title": "a"}]}')
    assert [p.external_id for p in projects] == ["1"]


@pytest.mark.parametrize(
    ("data", "filename"),
    [("[]", "p.json"), ('{"projects": []}', "p.json"), ("", "p.jsonl"), ("\n\n", "p.jsonl"),
     ("id,title\n", "p.csv")],
)  # fmt: skip
def test_a_file_without_projects_is_an_error(data: str, filename: str) -> None:
    assert error_of(data, filename) == f"{filename}: no projects in the file; nothing was imported"


# --- JSONL -----------------------------------------------------------------------------------


def test_invalid_jsonl_line_names_its_line_and_column() -> None:
    text = '{"id": 1, "title": "a"}\n\n{"id": 2, "title": "b"\n'
    assert error_of(text, "p.jsonl") == (
        "p.jsonl: line 3, column 23: not valid JSON: Expecting ',' delimiter"
    )


def test_jsonl_skips_blank_lines_and_keeps_line_numbers() -> None:
    text = '{"id": 1, "title": "a"}\n\n   \n{"id": 2, "title": "b"}\n'
    projects = parsed(text, "p.jsonl")
    assert [(p.external_id, p.location) for p in projects] == [
        ("1", "line 1 (id 1)"),
        ("2", "line 4 (id 2)"),
    ]


def test_jsonl_with_crlf_line_endings() -> None:
    projects = parsed('{"id": 1, "title": "a"}\r\n{"id": 2, "title": "b"}\r\n', "p.jsonl")
    assert [p.external_id for p in projects] == ["1", "2"]


def test_jsonl_row_error_names_the_line() -> None:
    assert error_of('{"id": 1, "title": "a"}\n\n{"id": 2}\n', "p.jsonl") == (
        "p.jsonl: line 3 (id 2): missing title"
    )


def test_jsonl_line_that_is_not_an_object() -> None:
    assert error_of('{"id": 1, "title": "a"}\n[1]\n', "p.jsonl") == (
        "p.jsonl: line 2: expected an object, found list"
    )


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"])
def test_jsonl_text_may_contain_unicode_line_separators(separator: str) -> None:
    # json.dumps(ensure_ascii=False), which export uses, writes these characters unescaped;
    # JSON Lines records are separated by "\n" only, so they belong to the string.
    line = json.dumps({"id": 1, "title": "a", "description": f"x{separator}y"}, ensure_ascii=False)
    projects = parsed(line + "\n", "p.jsonl")
    assert [p.description for p in projects] == [f"x{separator}y"]


# --- CSV -------------------------------------------------------------------------------------


def test_csv_bad_quote_names_its_line() -> None:
    assert error_of('id,title\n1,"a"b\n', "p.csv") == (
        "p.csv: line 2: not valid CSV: ',' expected after '\"'"
    )


def test_csv_bad_quote_after_multiline_row_names_its_line() -> None:
    text = 'id,title,description\n1,a,"x\ny"\n2,"b"c,d\n'
    assert error_of(text, "p.csv") == "p.csv: line 4: not valid CSV: ',' expected after '\"'"


def test_csv_more_fields_than_header() -> None:
    assert error_of("id,title\n1,a\n2,b,c\n", "p.csv") == (
        "p.csv: line 3: more fields than the header has"
    )


def test_csv_more_fields_after_multiline_row_names_its_line() -> None:
    text = 'id,title,description\n1,a,"x\ny"\n2,b,d,e\n'
    assert error_of(text, "p.csv") == "p.csv: line 4: more fields than the header has"


def test_csv_without_id_column() -> None:
    assert error_of("name,title\n1,a\n", "p.csv") == "p.csv: line 1: CSV header has no 'id' column"


def test_csv_without_title_column() -> None:
    assert error_of("id,name\n1,a\n", "p.csv") == (
        "p.csv: line 1: CSV header has no 'title' column"
    )


def test_empty_csv_file() -> None:
    assert error_of("", "p.csv") == (
        "p.csv: empty CSV file: expected a header row id,title,description,tags"
    )


def test_csv_header_names_are_case_and_space_insensitive() -> None:
    projects = parsed(" ID , Title ,Description,TAGS\n7,a,d,nlp\n", "p.csv")
    assert projects == [RawProject("7", "a", "d", ("nlp",), "line 2 (id 7)")]


def test_csv_tags_separated_by_semicolon() -> None:
    projects = parsed('id,title,tags\n1,a,"nlp; Computer Vision;cv"\n', "p.csv")
    assert projects[0].tags == ("nlp", "computer-vision", "cv")


def test_csv_tags_separated_by_comma() -> None:
    projects = parsed('id,title,tags\n1,a,"nlp, Computer Vision,cv"\n', "p.csv")
    assert projects[0].tags == ("nlp", "computer-vision", "cv")


def test_csv_empty_tags_and_description() -> None:
    projects = parsed("id,title,description,tags\n1,a,,\n", "p.csv")
    assert projects == [RawProject("1", "a", "", (), "line 2 (id 1)")]


def test_csv_quoted_field_with_newlines() -> None:
    text = 'id,title,description,tags\n1,a,"first line\nsecond line",nlp\n2,b,plain,cv\n'
    projects = parsed(text, "p.csv")
    assert projects == [
        RawProject("1", "a", "first line\nsecond line", ("nlp",), "line 2 (id 1)"),
        RawProject("2", "b", "plain", ("cv",), "line 4 (id 2)"),
    ]


def test_csv_error_after_multiline_row_names_the_right_line() -> None:
    text = 'id,title,description\n1,a,"x\ny\nz"\n2,,d\n'
    assert error_of(text, "p.csv") == "p.csv: line 5 (id 2): title is empty"


def test_csv_error_after_blank_line_names_the_right_line() -> None:
    # line 3 is blank; the row with the empty title is on line 4
    assert error_of("id,title\n1,a\n\n2,\n", "p.csv") == "p.csv: line 4 (id 2): title is empty"


def test_csv_with_crlf_line_endings() -> None:
    assert error_of("id,title\r\n1,a\r\n2,\r\n", "p.csv") == (
        "p.csv: line 3 (id 2): title is empty"
    )


def test_csv_ids_stay_text() -> None:
    projects = parsed("id,title\n007,a\n", "p.csv")
    assert projects[0].external_id == "007"


# --- rows ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        pytest.param([5], "p.json: item 0: expected an object, found int", id="item-int"),
        pytest.param([["a"]], "p.json: item 0: expected an object, found list", id="item-list"),
        pytest.param([{"title": "a"}], "p.json: item 0: missing id", id="missing-id"),
        pytest.param([{"id": None, "title": "a"}], "p.json: item 0: missing id", id="null-id"),
        pytest.param([{"id": "", "title": "a"}], "p.json: item 0: id is empty", id="empty-id"),
        pytest.param([{"id": "   ", "title": "a"}], "p.json: item 0: id is empty", id="blank-id"),
        pytest.param(
            [{"id": 1.5, "title": "a"}],
            "p.json: item 0: id must be a string or an integer, found float",
            id="float-id",
        ),
        pytest.param(
            [{"id": True, "title": "a"}],
            "p.json: item 0: id must be a string or an integer, found bool",
            id="bool-id",
        ),
        pytest.param(
            [{"id": [1], "title": "a"}],
            "p.json: item 0: id must be a string or an integer, found list",
            id="list-id",
        ),
        pytest.param(
            [{"id": {"a": 1}, "title": "a"}],
            "p.json: item 0: id must be a string or an integer, found dict",
            id="dict-id",
        ),
        pytest.param(
            [{"id": "x" * 129, "title": "a"}],
            "p.json: item 0: id is longer than 128 characters",
            id="long-id",
        ),
        pytest.param([{"id": 1}], "p.json: item 0 (id 1): missing title", id="missing-title"),
        pytest.param(
            [{"id": 1, "title": None}], "p.json: item 0 (id 1): missing title", id="null-title"
        ),
        pytest.param(
            [{"id": 1, "title": ""}], "p.json: item 0 (id 1): title is empty", id="empty-title"
        ),
        pytest.param(
            [{"id": 1, "title": " \n "}],
            "p.json: item 0 (id 1): title is empty",
            id="blank-title",
        ),
        pytest.param(
            [{"id": 1, "title": 5}],
            "p.json: item 0 (id 1): title must be text, found int",
            id="title-int",
        ),
        pytest.param(
            [{"id": 1, "title": "a", "description": 5}],
            "p.json: item 0 (id 1): description must be text, found int",
            id="description-int",
        ),
        pytest.param(
            [{"id": 1, "title": "a", "description": ["x"]}],
            "p.json: item 0 (id 1): description must be text, found list",
            id="description-list",
        ),
        pytest.param(
            [{"id": 1, "title": "a", "tags": "nlp"}],
            "p.json: item 0 (id 1): tags must be a list of strings",
            id="tags-string",
        ),
        pytest.param(
            [{"id": 1, "title": "a", "tags": {"nlp": 1}}],
            "p.json: item 0 (id 1): tags must be a list of strings",
            id="tags-object",
        ),
        pytest.param(
            [{"id": 1, "title": "a", "tags": ["nlp", 3]}],
            "p.json: item 0 (id 1): tags must be a list of strings",
            id="tags-with-int",
        ),
        pytest.param(
            [{"id": 1, "title": "a", "tags": [["nlp"]]}],
            "p.json: item 0 (id 1): tags must be a list of strings",
            id="tags-nested",
        ),
        pytest.param(
            [{"id": 1, "title": "a", "tags": [f"t{i}" for i in range(101)]}],
            "p.json: item 0 (id 1): more than 100 tags",
            id="too-many-tags",
        ),
        pytest.param(
            [{"id": 1, "title": "t" * 1001}],
            "p.json: item 0 (id 1): title has 1001 characters, over the 1000 limit",
            id="title-too-long",
        ),
    ],
)
def test_bad_row_message(items: list[object], expected: str) -> None:
    assert error_of(json.dumps(items)) == expected


def test_bad_row_location_counts_items_from_zero() -> None:
    items = [{"id": 1, "title": "a"}, {"id": 2, "title": "b"}, {"id": 3}]
    assert error_of(json.dumps(items)) == "p.json: item 2 (id 3): missing title"


def test_title_at_size_limit_is_accepted() -> None:
    projects = parsed(json.dumps([{"id": 1, "title": "t" * 1000}]))
    assert len(projects[0].title) == 1000


def test_description_over_size_limit() -> None:
    text = json.dumps([{"id": 1, "title": "a", "description": "d" * 21}])
    assert error_of(text, max_text_chars=20) == (
        "p.json: item 0 (id 1): description has 21 characters, over the 20 limit"
    )


def test_description_at_size_limit_is_accepted() -> None:
    text = json.dumps([{"id": 1, "title": "a", "description": "d" * 20}])
    assert parsed(text, max_text_chars=20)[0].description == "d" * 20


def test_duplicate_ids_in_one_file() -> None:
    items = [{"id": "a", "title": "x"}, {"id": "b", "title": "y"}, {"id": "a", "title": "z"}]
    assert error_of(json.dumps(items)) == "p.json: item 2: duplicate id 'a' (first at item 0)"


def test_integer_and_string_forms_of_an_id_are_duplicates() -> None:
    items = [{"id": 1, "title": "x"}, {"id": "1", "title": "y"}]
    assert error_of(json.dumps(items)) == "p.json: item 1: duplicate id '1' (first at item 0)"


def test_duplicate_ids_in_csv() -> None:
    assert error_of("id,title\n1,a\n2,b\n1,c\n", "p.csv") == (
        "p.csv: line 4: duplicate id '1' (first at line 2)"
    )


# --- good rows -------------------------------------------------------------------------------


def test_made_with_ml_json_is_parsed() -> None:
    items = [
        {"id": 1, "title": " Tiny BERT ", "description": " Reviews. ", "tags": ["nlp"]},
        {"id": "ext-2", "title": "Pallets", "description": None, "tags": None},
        {"id": 3, "title": "No tags key"},
    ]
    assert parsed(json.dumps(items)) == [
        RawProject("1", "Tiny BERT", "Reviews.", ("nlp",), "item 0 (id 1)"),
        RawProject("ext-2", "Pallets", "", (), "item 1 (id ext-2)"),
        RawProject("3", "No tags key", "", (), "item 2 (id 3)"),
    ]


def test_integer_ids_are_kept_as_strings() -> None:
    projects = parsed(json.dumps([{"id": 42, "title": "a"}, {"id": " 7 ", "title": "b"}]))
    assert [p.external_id for p in projects] == ["42", "7"]


def test_tag_names_are_normalised() -> None:
    tags = ["Computer Vision", "computer-vision", "  NLP ", "nlp", "machine_learning", " ", ""]
    projects = parsed(json.dumps([{"id": 1, "title": "a", "tags": tags}]))
    assert projects[0].tags == ("computer-vision", "nlp", "machine-learning")


def test_extra_keys_are_ignored() -> None:
    items = [{"id": 1, "title": "a", "label_source": "source", "status": "unlabeled"}]
    assert parsed(json.dumps(items)) == [RawProject("1", "a", "", (), "item 0 (id 1)")]


def test_html_in_text_is_kept_verbatim() -> None:
    title = '<script>alert("x")</script> **bold** [l](javascript:alert(1))'
    description = '<img src=x onerror="alert(1)">'
    projects = parsed(json.dumps([{"id": 1, "title": title, "description": description}]))
    assert (projects[0].title, projects[0].description) == (title, description)


# --- collecting rejected rows ------------------------------------------------------------------


def test_rejected_mode_keeps_valid_rows_and_collects_invalid_ones() -> None:
    items = [
        {"id": 1, "title": "a"},
        {"id": 2},
        {"id": 3, "title": "c", "tags": "nlp"},
        5,
        {"id": 4, "title": "d"},
    ]
    rejected: list[RejectedRow] = []
    projects = parsed(json.dumps(items), rejected=rejected)
    assert [p.external_id for p in projects] == ["1", "4"]
    assert rejected == [
        RejectedRow("item 1", "missing title"),
        RejectedRow("item 2", "tags must be a list of strings"),
        RejectedRow("item 3", "expected an object, found int"),
    ]


def test_rejected_mode_in_csv_names_lines() -> None:
    rejected: list[RejectedRow] = []
    projects = parsed(
        'id,title,description\n1,a,"x\ny"\n,b,\n3,,\n4,d,\n', "p.csv", rejected=rejected
    )
    assert [p.external_id for p in projects] == ["1", "4"]
    assert rejected == [
        RejectedRow("line 4", "id is empty"),
        RejectedRow("line 5", "title is empty"),
    ]


def test_rejected_mode_still_fails_on_duplicate_ids() -> None:
    items = [{"id": 1, "title": "a"}, {"id": 1, "title": "b"}]
    assert error_of(json.dumps(items), rejected=[]) == (
        "p.json: item 1: duplicate id '1' (first at item 0)"
    )


def test_rejected_mode_still_fails_on_bad_syntax() -> None:
    assert error_of("[", rejected=[]) == (
        "p.json: line 1, column 2: not valid JSON: Expecting value"
    )


# --- taxonomy --------------------------------------------------------------------------------


def test_good_taxonomy_is_parsed_and_normalised() -> None:
    text = json.dumps(
        {
            "Natural Language Processing": {"aliases": ["NLP", "nlp"], "parents": []},
            "text_classification": {
                "aliases": ["Sentiment Analysis"],
                "parents": ["natural-language-processing"],
            },
            "computer-vision": None,
            "object-detection": {"parents": ["Computer Vision"]},
        }
    )
    assert parse_taxonomy(text.encode(), "tags.json") == {
        "natural-language-processing": TaxonomyEntry(aliases=("nlp",)),
        "text-classification": TaxonomyEntry(
            aliases=("sentiment-analysis",), parents=("natural-language-processing",)
        ),
        "computer-vision": TaxonomyEntry(),
        "object-detection": TaxonomyEntry(parents=("computer-vision",)),
    }


def test_fixture_taxonomy_is_parsed() -> None:
    path = Path(__file__).parents[1] / "fixtures" / "small_taxonomy.json"
    taxonomy = parse_taxonomy(path.read_bytes(), path.name)
    assert taxonomy["text-classification"] == TaxonomyEntry(
        aliases=("sentiment-analysis",), parents=("natural-language-processing",)
    )
    assert sorted(taxonomy) == [
        "computer-vision",
        "natural-language-processing",
        "object-detection",
        "text-classification",
        "time-series",
    ]


def test_taxonomy_cycle_is_rejected_and_listed() -> None:
    text = '{"a": {"parents": ["b"]}, "b": {"parents": ["c"]}, "c": {"parents": ["a"]}}'
    assert taxonomy_error(text) == "tags.json: parents form a cycle: a -> b -> c -> a"


def test_taxonomy_self_parent_is_a_cycle() -> None:
    assert taxonomy_error('{"a": {"parents": ["a"]}}') == (
        "tags.json: parents form a cycle: a -> a"
    )


def test_taxonomy_diamond_is_not_a_cycle() -> None:
    text = (
        '{"a": {}, "b": {"parents": ["a"]}, "c": {"parents": ["a"]}, "d": {"parents": ["b", "c"]}}'
    )
    assert parse_taxonomy(text.encode(), "tags.json")["d"].parents == ("b", "c")


def test_taxonomy_alias_shared_by_two_tags() -> None:
    text = '{"a": {"aliases": ["x"]}, "b": {"aliases": ["X"]}}'
    assert taxonomy_error(text) == "tags.json: tag 'b': alias 'x' is also an alias of 'a'"


def test_taxonomy_alias_equal_to_another_tag() -> None:
    assert taxonomy_error('{"a": {"aliases": ["B"]}, "b": {}}') == (
        "tags.json: tag 'a': alias 'b' is also a tag of its own"
    )


def test_taxonomy_parent_not_in_file() -> None:
    assert taxonomy_error('{"a": {"parents": ["zzz"]}}') == (
        "tags.json: tag 'a': parent 'zzz' is not a tag in this file"
    )


def test_taxonomy_not_an_object() -> None:
    assert taxonomy_error('["a", "b"]') == (
        "tags.json: expected a JSON object mapping tag -> {aliases, parents}, found list"
    )


def test_taxonomy_entry_not_an_object() -> None:
    assert taxonomy_error('{"a": ["b"]}') == (
        "tags.json: tag 'a': expected an object with aliases and parents"
    )


def test_taxonomy_aliases_not_a_list_of_strings() -> None:
    assert taxonomy_error('{"a": {"aliases": "x"}}') == (
        "tags.json: tag 'a': aliases must be a list of strings"
    )


def test_taxonomy_parents_not_a_list_of_strings() -> None:
    assert taxonomy_error('{"a": {"parents": [1]}}') == (
        "tags.json: tag 'a': parents must be a list of strings"
    )


def test_taxonomy_tag_listed_twice_after_normalising() -> None:
    assert taxonomy_error('{"Computer Vision": {}, "computer-vision": {}}') == (
        "tags.json: tag 'computer-vision': tag listed twice (after normalising its name)"
    )


def test_taxonomy_empty_tag_name() -> None:
    assert taxonomy_error('{"  ": {}}') == "tags.json: tag '  ': empty tag name"


def test_taxonomy_invalid_json() -> None:
    assert taxonomy_error('{"a": {}') == (
        "tags.json: line 1, column 9: not valid JSON: Expecting ',' delimiter"
    )


# --- values dropped with a warning, or rejected in strict mode ---------------------------------

LONG_TAG = "this is a sentence pasted into the tag field " * 3


def warned(data: str, filename: str = "p.json") -> tuple[list[RawProject], list[str]]:
    warnings: list[RowWarning] = []
    projects = parse_projects(data.encode("utf-8"), filename, warnings=warnings)
    return projects, [str(w) for w in warnings]


def test_over_long_tag_is_dropped_with_a_warning_naming_the_row() -> None:
    projects, warnings = warned(json.dumps([{"id": 7, "title": "t", "tags": ["nlp", LONG_TAG]}]))
    assert projects[0].tags == ("nlp",)
    assert warnings == [
        "p.json: item 0 (id 7): tag 'this-is-a-sentence-pasted-into'... is longer than 100 "
        "characters; dropped"
    ]


def test_over_long_tag_fails_the_file_in_strict_mode() -> None:
    items = [{"id": 7, "title": "t", "tags": ["nlp", LONG_TAG]}]
    assert error_of(json.dumps(items)) == (
        "p.json: item 0 (id 7): tag 'this-is-a-sentence-pasted-into'... is longer than 100 "
        "characters"
    )


def test_malformed_tags_are_dropped_with_warnings() -> None:
    items = [{"id": "a", "title": "t", "tags": ["x,y", "ok", "bell\x07", "#marketing#bank"]}]
    projects, warnings = warned(json.dumps(items))
    assert projects[0].tags == ("ok", "#marketing#bank")
    assert warnings == [
        "p.json: item 0 (id a): tag 'x,y' contains ','; dropped",
        "p.json: item 0 (id a): tag 'bell\\x07' contains a control character; dropped",
    ]


def test_nul_characters_in_text_are_removed_with_a_warning() -> None:
    items = [{"id": 1, "title": "a\x00b", "description": "c\x00\x00d", "tags": ["n\x00lp"]}]
    projects, warnings = warned(json.dumps(items))
    assert (projects[0].title, projects[0].description, projects[0].tags) == ("ab", "cd", ())
    assert warnings == [
        "p.json: item 0 (id 1): title contains NUL characters; removed",
        "p.json: item 0 (id 1): description contains NUL characters; removed",
        "p.json: item 0 (id 1): tag 'n\\x00lp' contains a control character; dropped",
    ]
    assert error_of(json.dumps(items)) == "p.json: item 0 (id 1): title contains NUL characters"


def test_taxonomy_parent_naming_no_tag_is_dropped_with_a_warning() -> None:
    warnings: list[RowWarning] = []
    text = json.dumps({"a": {"parents": ["zzz", "b"]}, "b": {}, "c": {"aliases": [LONG_TAG]}})
    taxonomy = parse_taxonomy(text.encode(), "tags.json", warnings)
    assert taxonomy == {
        "a": TaxonomyEntry(parents=("b",)),
        "b": TaxonomyEntry(),
        "c": TaxonomyEntry(),
    }
    assert [str(w) for w in warnings] == [
        "tags.json: tag 'c': tag 'this-is-a-sentence-pasted-into'... is longer than 100 "
        "characters; dropped",
        "tags.json: tag 'a': parent 'zzz' is not a tag in this file; dropped",
    ]


# --- hostile files: one line naming file and row, never a traceback ----------------------------


def test_deeply_nested_json_is_a_one_line_error() -> None:
    assert error_of("[" * 100_000 + "]" * 100_000) == (
        "p.json: line 1, column 100000: JSON nested 100000 levels deep; a catalogue needs at most 3"
    )


def test_deeply_nested_jsonl_line_names_its_line() -> None:
    data = '{"id": 1, "title": "a"}\n' + '{"id": 2, "title": ' + "[" * 100_000 + "\n"
    assert error_of(data, "p.jsonl") == (
        "p.jsonl: line 2, column 100019: JSON nested 100001 levels deep; a catalogue needs at "
        "most 3"
    )


def test_deeply_nested_taxonomy_is_a_one_line_error() -> None:
    assert taxonomy_error('{"a": ' + "[" * 100_000).startswith("tags.json: line 1, column")


def test_id_with_5000_digits_is_a_one_line_error() -> None:
    data = '[{"id": 1, "title": "a"},\n {"id": ' + "9" * 5000 + ', "title": "b"}]'
    assert error_of(data) == (
        "p.json: line 2, column 9: a number has more than 4300 digits; write long ids as text"
    )


@pytest.mark.parametrize(
    ("raw_id", "shown"),
    [
        ("a\nb", "'a\\nb'"),
        ("\x1b[31mred\x1b[0m", "'\\x1b[31mred\\x1b[0m'"),
        ("x\u202ey", "'x\\u202ey'"),
    ],
)
def test_id_with_control_characters_is_rejected_and_shown_escaped(raw_id: str, shown: str) -> None:
    message = error_of(json.dumps([{"id": raw_id, "title": "t"}]))
    assert message == f"p.json: item 0: id {shown} contains a control character"
    assert message.isprintable()


def test_control_characters_are_escaped_in_every_message() -> None:
    message = error_of(json.dumps([{"id": 1, "title": 5}, {"id": 1}]).replace("5", '"\\u001b"'))
    assert message.isprintable()
    duplicate = error_of(json.dumps([{"id": "é\x1b", "title": "t"}]))
    assert "\x1b" not in duplicate and "é" in duplicate
