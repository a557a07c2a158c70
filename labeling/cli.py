"""``python -m labeling COMMAND``: the command line of LabelLoop.

Exit codes: 0 success, 1 failure, 2 bad input or usage. Reports are readable text, or JSON with
``--json``; progress of long work goes to stderr so that stdout stays parseable.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import func, select

from db.models import ROLES, ModelVersion, Project
from db.session import SessionFactory
from labeling import auth, drift, io, registry, tags, training_jobs
from labeling.annotations import STATUSES
from labeling.cli_common import (
    UsageError,
    masked_url,
    open_database,
    print_progress,
    progress,
    to_json,
)
from labeling.cli_models import cmd_drift, cmd_models, cmd_train, cmd_worker
from labeling.cli_models import waiting_message as waiting_message  # labeling.cli.waiting_message
from labeling.cli_tags import cmd_tags
from labeling.cli_users import cmd_users
from labeling.config import PROJECT_ROOT, ConfigError, Settings, load_settings
from labeling.label_errors import (
    DEFAULT_MIX_SHARE,
    DEFAULT_MIX_WITH,
    DEFAULT_PRESELECT_POLICY,
    MIX_PARTNERS,
    PRESELECT_POLICIES,
)

DEMO_DIR = PROJECT_ROOT / "data" / "demo"
DEMO_PASSWORD = auth.DEMO_PASSWORD
DEMO_USERS = (
    ("demo-admin", "admin"),
    ("demo-reviewer", "reviewer"),
    ("demo-annotator", "annotator"),
    ("demo-manager", "manager"),
)


# --- import / export -------------------------------------------------------------------------


def cmd_import(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    started = time.perf_counter()
    path = Path(args.projects)
    progress(f"reading {path} ...")
    data = io.read_file_bytes(path, settings.max_import_bytes)
    file_format = args.format or io.detect_format(path.name)
    rejected: list[io.RejectedRow] | None = [] if args.skip_invalid else None
    warnings: list[io.RowWarning] | None = None if args.strict else []
    projects = io.parse_projects(
        data, path.name, file_format, settings.max_text_chars, rejected, warnings
    )
    progress(f"validated {len(projects)} projects")
    taxonomy = None
    if args.taxonomy:
        taxonomy_path = Path(args.taxonomy)
        taxonomy = io.parse_taxonomy(
            io.read_file_bytes(taxonomy_path, settings.max_import_bytes),
            taxonomy_path.name,
            warnings,
        )
        progress(f"taxonomy: {len(taxonomy)} tags")
    make_session = open_database(settings)
    progress("writing to the database (one transaction) ...")
    with make_session.begin() as session:
        report = io.import_catalogue(
            session,
            projects,
            filename=path.name,
            file_format=file_format,
            unknown_tags=args.unknown_tags,
            on_existing=args.on_existing,
            taxonomy=taxonomy,
            rejected=rejected,
            taxonomy_filename=Path(args.taxonomy).name if args.taxonomy else "taxonomy",
            warnings=warnings,
        )
    elapsed = time.perf_counter() - started
    new_in_import, why_not = drift.check_import(make_session, report.batch_id)
    if args.json:
        checks = new_in_import if new_in_import is not None else {"not_checked": why_not}
        json.dump(
            {**report.to_dict(), "seconds": round(elapsed, 3), "new_in_import": checks},
            out,
            indent=2,
        )
        out.write("\n")
    else:
        out.write("\n".join(report.summary_lines()) + f"\n  took {elapsed:.1f} s\n")
        out.write(
            "What is new in this import:\n" + drift.report_text(new_in_import)
            if new_in_import is not None
            else f"What is new in this import: not checked ({why_not})\n"
        )
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    make_session = open_database(settings)
    with make_session() as session:
        rows = io.export_rows(session, settings.trust_source_tags, args.status)
        taxonomy = io.export_taxonomy(session) if args.taxonomy_out else None
    text = io.render_export(rows, args.format)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        progress(f"wrote {len(rows)} projects to {args.out}")
    else:
        out.write(text)
    if taxonomy is not None:
        Path(args.taxonomy_out).write_text(json.dumps(taxonomy, indent=1) + "\n", encoding="utf-8")
        progress(f"wrote {len(taxonomy)} tags to {args.taxonomy_out}")
    return 0


# --- label errors ------------------------------------------------------------------------------


def cmd_label_errors(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    from labeling import label_errors

    make_session = open_database(settings)
    progress("scoring every labelled project with out-of-fold predictions ...")
    with make_session() as session:
        found, _ = label_errors.find_label_errors(session, settings)
        rows = label_errors.suspect_rows(session, found, args.tag, args.top)
    per_tag = label_errors.suspected_per_tag(found)
    if args.json:
        out.write(to_json({"suspects": rows, "per_tag": per_tag}) + "\n")
        return 0
    if not rows:
        out.write("No suspected label errors.\n")
        return 0
    for number, row in enumerate(rows, start=1):
        out.write(f"{number:>3}. [{row['id']}] {row['title']}  (score {row['score']:.2f})\n")
        out.write(f"     {row['reason']}\n")
    out.write("\nSuspected errors per tag (projects probably missing it / wrongly carrying it):\n")
    for tag, counts in sorted(per_tag.items(), key=lambda item: -item[1]["probably_missing"]):
        out.write(f"  {tag:<34} {counts['probably_missing']:>5} {counts['probably_wrong']:>5}\n")
    return 0


def cmd_agreement(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """How much annotators agree, per tag, per pair and per annotator (projects judged by at
    least two people)."""
    from labeling import agreement

    with open_database(settings)() as session:
        report = agreement.compute_agreement(session)
    if args.json:
        out.write(to_json(agreement.report_json(report)) + "\n")
    else:
        out.write(agreement.report_text(report))
    return 0


# --- simulation ------------------------------------------------------------------------------


def cmd_simulate(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Replay a fully labelled catalogue; no database is touched."""
    from labeling import simulate
    from labeling.charts import common, simulation

    projects_path, taxonomy_path = Path(args.projects), Path(args.taxonomy)
    projects = io.parse_projects(
        io.read_file_bytes(projects_path, settings.max_import_bytes),
        projects_path.name,
        max_text_chars=settings.max_text_chars,
    )
    taxonomy_bytes = io.read_file_bytes(taxonomy_path, settings.max_import_bytes)
    io.parse_taxonomy(taxonomy_bytes, taxonomy_path.name)
    try:
        result = simulate.run_simulation(
            projects,
            json.loads(taxonomy_bytes.decode("utf-8-sig")),
            [name.strip() for name in args.strategies.split(",") if name.strip()],
            seed_size=args.seed_size,
            batch_size=args.batch_size,
            budget=args.budget,
            repeats=args.repeats,
            progress=progress,
            seed=args.seed,
            n_jobs=args.jobs,
            noise_drop=args.noise_drop,
            noise_add=args.noise_add,
            mix_share=args.mix_share,
            mix_with=args.mix_with,
            accept_rates=_accept_rates(args.accept_rates),
            accuracy=args.accuracy,
            preselect_policy=args.preselect,
        )
    except ValueError as error:
        raise UsageError(str(error)) from None
    out_path = Path(args.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    written = [out_path]
    charts = {
        metric: simulation.simulation_chart(result, metric)
        for metric in ("weighted_f1", "macro_f1")
    }
    if "injected_errors" in result:
        charts["errors_fixed"] = simulation.simulation_errors_chart(result)
    for name, chart in charts.items():
        written += common.save_chart(chart, out_path.with_name(f"{out_path.stem}-{name}"))
    out.write(simulate.format_table(simulate.summary_table(result)))
    out.write("\nwrote " + ", ".join(str(path) for path in written) + "\n")
    return 0


def _accept_rates(text: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UsageError(
            f"--accept-rates takes numbers separated by commas, e.g. 0,0.5,0.9; got {text!r}"
        ) from None


# --- first start -----------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Upgrade the schema; with --demo, load the demo catalogue into an empty database and
    create demo accounts, but only when this very run loaded the demo, so a real catalogue
    never gets accounts with published passwords."""
    make_session = open_database(settings)
    out.write(f"database: {masked_url(settings.database_url)} (schema at the latest migration)\n")
    with make_session.begin() as session:
        has_projects = (session.scalar(select(func.count()).select_from(Project)) or 0) > 0
        has_users = auth.user_count(session) > 0
        loaded_demo = False
        if args.demo and not has_projects:
            projects = io.parse_projects(
                (DEMO_DIR / "projects.json").read_bytes(), "projects.json", "json"
            )
            taxonomy = io.parse_taxonomy((DEMO_DIR / "taxonomy.json").read_bytes(), "taxonomy.json")
            report = io.import_catalogue(
                session,
                projects,
                "projects.json",
                "json",
                taxonomy=taxonomy,
                taxonomy_filename="taxonomy.json",
            )
            out.write(f"loaded the demo catalogue: {report.projects_added} projects\n")
            loaded_demo = True
        if loaded_demo and not has_users:
            for username, role in DEMO_USERS:
                auth.create_user(session, username, DEMO_PASSWORD, role)
            out.write(
                "\n*** DEMO ACCOUNTS (demo data only; never use them for real work) ***\n"
                + "".join(
                    f"    {name:<16} role {role:<10} password {DEMO_PASSWORD}\n"
                    for name, role in DEMO_USERS
                )
                + "\n"
            )
        elif not has_users:
            out.write(
                "No users yet. Create the first admin in the browser (the app asks for it),\n"
                "or: python -m labeling users add NAME --role admin --password-stdin\n"
            )
    if args.train:
        return _train_first_version(make_session, settings, out)
    return 0


def _train_first_version(make_session: SessionFactory, settings: Settings, out: TextIO) -> int:
    """A catalogue arrives with source tags, so the first annotator should already be served
    likely label errors rather than a random order: train version 1 before the app starts,
    unless a version is ready or there is nothing to train on."""
    with make_session() as session:
        ready = registry.current_version(session)
        has_projects = (session.scalar(select(func.count()).select_from(Project)) or 0) > 0
    if ready is not None or not has_projects:
        return 0
    out.write("training the first model version (seconds on the demo catalogue) ...\n")
    with make_session.begin() as session:
        version_id = training_jobs.queue_training(session, None).id
    training_jobs.work_once(make_session, settings, print_progress)
    with make_session() as session:
        version = session.get(ModelVersion, version_id)
        assert version is not None
        if version.status != "ready":
            out.write(f"model version {version_id} failed: {version.error}\n")
            return 1
        weighted = version.metrics["overall"].get("weighted_f1")
    measured = "" if weighted is None else f" (weighted F1 {weighted:.3f} on held-out projects)"
    out.write(f"model version {version_id} ready{measured}\n")
    return 0


# --- parser ----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m labeling", description="LabelLoop: tag a catalogue of ML projects."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    imp = commands.add_parser("import", help="import a catalogue (and a taxonomy)")
    imp.add_argument("--projects", required=True, help="Made With ML JSON, CSV or JSONL file")
    imp.add_argument("--taxonomy", help="tags.json: {tag: {aliases: [...], parents: [...]}}")
    imp.add_argument("--format", choices=io.FORMATS, help="file format (default: by extension)")
    imp.add_argument(
        "--unknown-tags",
        choices=io.UNKNOWN_TAG_POLICIES,
        default="reject",
        help="tags in neither the taxonomy nor the database: keep them as candidate tags for an "
        "admin to promote, merge or discard; create them as tags; drop them; or fail (default)",
    )
    imp.add_argument(
        "--strict",
        action="store_true",
        help="fail on any problem, also those that only drop one value (an over-long or "
        "malformed tag, a parent that names no tag, NUL characters)",
    )
    imp.add_argument("--on-existing", choices=("skip", "update"), default="skip")
    imp.add_argument(
        "--skip-invalid",
        action="store_true",
        help="leave out invalid rows (listed in the report) instead of failing the file",
    )
    imp.add_argument("--json", action="store_true", help="print the report as JSON")
    imp.set_defaults(handler=cmd_import)

    exp = commands.add_parser("export", help="export projects with their effective labels")
    exp.add_argument("--format", choices=io.FORMATS, default="json")
    exp.add_argument("--status", choices=STATUSES, help="only projects with this label status")
    exp.add_argument("--out", help="file to write (default: standard output)")
    exp.add_argument("--taxonomy-out", help="also write the taxonomy (tags.json) to this file")
    exp.set_defaults(handler=cmd_export)

    tag_parser = commands.add_parser(
        "tags", help="list and curate tags and candidate tags (merge, alias, promote, ...)"
    )
    tag_commands = tag_parser.add_subparsers(dest="tags_command", required=True, metavar="ACTION")
    tag_list = tag_commands.add_parser("list", help="every tag and candidate with its counts")
    tag_list.add_argument("--search", default="", help="only names or aliases containing this")
    tag_list.add_argument("--kind", choices=("tag", "candidate"), help="only tags or candidates")
    tag_list.add_argument("--json", action="store_true")
    for action, spec in tags.ACTIONS.items():
        sub = tag_commands.add_parser(action, help=spec.message.format(*spec.arguments))
        for slot in spec.arguments:
            sub.add_argument(slot.lower(), metavar=slot)
    history = tag_commands.add_parser("history", help="the events that touched a tag")
    history.add_argument("name")
    history.add_argument("--json", action="store_true")
    implied = tag_commands.add_parser(
        "implied-parents",
        help="the projects that lack a parent their tags imply (object-detection without "
        "computer-vision); --apply adds them in one event that undo takes back",
    )
    implied.add_argument("--apply", action="store_true", help="add the missing parents")
    implied.add_argument("--json", action="store_true")
    undo = tag_commands.add_parser("undo", help="apply the inverse of a tag event")
    undo.add_argument("event", type=int, help="event id, from tags history")
    tag_parser.set_defaults(handler=cmd_tags)

    users = commands.add_parser("users", help="manage accounts")
    users_commands = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    add = users_commands.add_parser("add", help="create an account")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, required=True)
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    listing = users_commands.add_parser("list", help="list accounts")
    listing.add_argument("--json", action="store_true")
    set_role = users_commands.add_parser("set-role", help="change an account's role")
    set_role.add_argument("name")
    set_role.add_argument("role", choices=ROLES)
    deactivate = users_commands.add_parser("deactivate", help="stop an account from signing in")
    deactivate.add_argument("name")
    passwd = users_commands.add_parser("passwd", help="set an account's password")
    passwd.add_argument("name")
    passwd.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin"
    )
    passwd.add_argument(
        "--must-change", action="store_true", help="the owner must change it at the next sign-in"
    )
    reset = users_commands.add_parser(
        "reset-password", help="give an account a one-time password, printed once"
    )
    reset.add_argument("name")
    reactivate = users_commands.add_parser("reactivate", help="let a deactivated account sign in")
    reactivate.add_argument("name")
    users.set_defaults(handler=cmd_users)

    train = commands.add_parser("train", help="train a model version now and report it")
    train.add_argument("--json", action="store_true")
    train.set_defaults(handler=cmd_train)

    models = commands.add_parser("models", help="list, show and compare model versions")
    models_commands = models.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    models_list = models_commands.add_parser("list", help="every version with its F1")
    models_list.add_argument("--json", action="store_true")
    show = models_commands.add_parser("show", help="one version: metrics, thresholds, data")
    show.add_argument("version", type=int)
    show.add_argument("--json", action="store_true")
    promote = models_commands.add_parser(
        "promote", help="serve version N (promote a held one, or roll back to an older one)"
    )
    promote.add_argument("version", type=int)
    promote.add_argument("--note", default="", help="why, for the audit trail")
    compare = models_commands.add_parser(
        "compare", help="B minus A on today's labels, paired, with intervals (0 is the rules)"
    )
    compare.add_argument("a", type=int)
    compare.add_argument("b", type=int)
    compare.add_argument("--json", action="store_true")
    models.set_defaults(handler=cmd_models)

    drift_ = commands.add_parser(
        "drift", help="what is new in an import: unseen words, tag shift, new topics, duplicates"
    )
    drift_.add_argument("--batch", type=int, help="import batch id (default: the newest)")
    drift_.add_argument("--json", action="store_true")
    drift_.set_defaults(handler=cmd_drift)

    worker = commands.add_parser("worker", help="run queued trainings (for several app replicas)")
    worker.add_argument("--once", action="store_true", help="run at most one job, then exit")
    worker.add_argument("--poll", type=float, default=2.0, help="seconds between queue checks")
    worker.set_defaults(handler=cmd_worker)

    errors = commands.add_parser(
        "label-errors", help="list the projects whose tags are most likely wrong or missing"
    )
    errors.add_argument("--top", type=int, default=20, help="how many suspects to list")
    errors.add_argument("--tag", help="only suspects involving this tag")
    errors.add_argument("--json", action="store_true")
    errors.set_defaults(handler=cmd_label_errors)

    agree = commands.add_parser(
        "agreement", help="inter-annotator agreement per tag, annotator pair and annotator"
    )
    agree.add_argument("--json", action="store_true", help="print JSON instead of text")
    agree.set_defaults(handler=cmd_agreement)

    sim = commands.add_parser("simulate", help="replay a labelled catalogue to compare strategies")
    sim.add_argument("--projects", required=True, help="fully labelled catalogue (JSON/CSV/JSONL)")
    sim.add_argument("--taxonomy", required=True, help="tags.json of that catalogue")
    sim.add_argument("--strategies", default="random,threshold_margin,max_score")
    sim.add_argument("--seed-size", type=int, default=50, help="labelled projects to start from")
    sim.add_argument("--batch-size", type=int, default=25, help="projects revealed per round")
    sim.add_argument("--budget", type=int, default=300, help="labels to stop at (seed included)")
    sim.add_argument("--repeats", type=int, default=3, help="runs with different seed sets")
    sim.add_argument("--seed", type=int, default=0, help="base random seed")
    sim.add_argument("--jobs", type=int, default=1, help="worker processes")
    sim.add_argument(
        "--noise-drop", type=float, help="warm start: drop each true tag with this probability"
    )
    sim.add_argument(
        "--noise-add", type=float, help="warm start: add one wrong tag with this probability"
    )
    sim.add_argument(
        "--mix-share",
        type=float,
        default=DEFAULT_MIX_SHARE,
        help="label_errors_mix: share of every batch served by the partner strategy",
    )
    sim.add_argument(
        "--mix-with",
        choices=MIX_PARTNERS,
        default=DEFAULT_MIX_WITH,
        help="label_errors_mix: the partner (uncertainty = threshold_margin)",
    )
    sim.add_argument(
        "--accept-rates",
        default="0,0.5,0.9",
        help="warm start: simulated annotators' automation bias a (accept the pre-selection)",
    )
    sim.add_argument(
        "--accuracy",
        type=float,
        default=1.0,
        help="warm start: per-tag accuracy q of an annotator typing the tags",
    )
    sim.add_argument(
        "--preselect",
        choices=PRESELECT_POLICIES,
        default=DEFAULT_PRESELECT_POLICY,
        help="warm start: what the Annotate page pre-selects for a suspect",
    )
    sim.add_argument("--out", required=True, help="JSON result file; charts are written beside it")
    sim.set_defaults(handler=cmd_simulate)

    init = commands.add_parser("init", help="upgrade the database; optionally load the demo")
    init.add_argument("--demo", action="store_true", help="load the demo into an empty database")
    init.add_argument(
        "--train", action="store_true", help="train the first model version if none is ready"
    )
    init.set_defaults(handler=cmd_init)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        settings = load_settings()
        handler: Callable[[argparse.Namespace, Settings, TextIO], int] = args.handler
        return handler(args, settings, out)
    except (io.InputError, auth.AuthError, UsageError, ConfigError, tags.TagError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception as error:
        print(f"failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1


def run() -> Any:
    sys.exit(main())
