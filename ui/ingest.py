"""The Corpus tab's ingest: uploads saved under the data dir and ingested in their own id
namespace, folders only under --ingest-root, and one result row per file."""
from __future__ import annotations

from pathlib import Path

from rag.api import Assistant, FileReport
from rag.errors import NewsragError

from .corpus import FolderRefused, SavedUpload, UploadRejected, allowed_folder, check_batch, save_upload, uploads_dir
from .render import FileResult


def ingest_items(assistant: Assistant, files, folder: str, tick, *, date: str | None = None,
                 source: str | None = None) -> list[FileResult]:
    """Ingest the uploaded `files` (Gradio temp paths, deleted here) and the server `folder`;
    `date` and `source` are given to the articles that have none of their own."""
    settings = assistant.settings
    results: list[FileResult] = []
    uploads = [Path(str(path)) for path in files or []]
    saved: list[SavedUpload] = []
    try:
        check_batch(uploads, settings.max_upload_files, int(settings.max_upload_mb * 2**20))
        for path in uploads:
            try:
                saved.append(save_upload(path, uploads_dir(assistant), int(settings.max_file_mb * 2**20), path.name))
            except (UploadRejected, OSError) as exc:
                results.append(FileResult(path.name, "rejected", 0, str(exc)))
    except UploadRejected as exc:
        results.append(FileResult(f"{len(uploads)} files", "rejected", 0, str(exc)))
    finally:
        for path in uploads:
            path.unlink(missing_ok=True)  # Gradio's temp copy: the only copy kept is in <data_dir>/uploads
    if saved:  # one ingest for all uploads: BM25 is rebuilt once, not once per file
        results += _ingest_uploads(assistant, saved, tick, date=date, source=source)
    folder = (folder or "").strip()
    if folder:
        try:  # refused server-side too: the event can be called without the page
            where = allowed_folder(folder, settings.ingest_root)
            results.extend(_folder_results(where, assistant.ingest([where], on_file=tick, confine=True,
                                                                         date=date, source=source)))
        except FolderRefused as exc:
            results.append(FileResult(folder, "rejected", 0, str(exc)))
        except NewsragError as exc:
            results.append(FileResult(folder, "failed", 0, str(exc)))
    return results


def summary(results: list[FileResult]) -> str:
    if not results:
        return "Choose files to upload or give a folder path."
    bad = sum(r.result == "rejected" or "failed" in r.result for r in results)
    return f"{len(results)} item(s) processed, {bad} with errors."


def _ingest_uploads(assistant: Assistant, saved: list[SavedUpload], tick, **defaults) -> list[FileResult]:
    """Ingest the stored uploads in their own id namespace; delete those that gave no article."""
    try:
        report = assistant.ingest([item.path for item in saved], on_file=tick, namespace="upload", **defaults)
        by_path = {Path(f.path).resolve(): f for f in report.files}
        failure = None
    except NewsragError as exc:
        by_path, failure = {}, str(exc)
    rows = []
    for item in saved:
        file = by_path.get(item.path.resolve())
        row = _file_result(item.original, file, uploads_dir(assistant))
        if file is None or row.result == "failed":
            if not item.reused:  # an earlier, identical upload stays with its articles
                item.path.unlink(missing_ok=True)
            kept = "not kept"
        else:
            kept = f"stored as uploads/{item.path.name}"
        rows.append(FileResult(row.name, row.result, row.chunks,
                               "; ".join(x for x in (failure or row.detail, kept) if x)))
    return rows


def _file_result(name: str, report: FileReport | None, folder: Path) -> FileResult:
    if report is None:
        return FileResult(name, "failed", 0, "the ingest did not read this file")
    notes = [f"same text as {canonical}, stored once" for canonical in report.duplicate_of]
    notes += [f"a near copy of {canonical}: cited as it, \"also reported by\" this one"
              for canonical in report.copy_of]
    notes += [_short(p, folder) for p in (*report.problems, *report.warnings)]
    if report.unchanged and not (report.added or report.updated or notes):
        notes.append("already indexed")
    detail = "; ".join(notes)
    return FileResult(name, report.result, report.chunks, detail)


def _folder_results(folder: Path, report) -> list[FileResult]:
    name = str(folder)
    summary = (f"{report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
               f"{report.duplicate} duplicate, {report.failed} failed in {report.seconds:.1f} s")
    rows = [FileResult(name, "failed" if report.failed and not (report.added or report.updated or report.unchanged)
                       else "ingested", report.chunks_written, summary)]
    for result, lines in (("failed", report.problems), ("warning", report.warnings)):
        for line in lines:
            where, _, why = _short(line, folder).partition(": ")
            rows.append(FileResult(where, result, 0, why))
    return rows


def _short(problem: str, folder: Path) -> str:
    """A problem line without the server's absolute uploads path."""
    return problem.replace(str(folder.resolve()) + "/", "").replace(str(folder) + "/", "")
