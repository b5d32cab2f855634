"""Benchmark: what one web upload costs the server, for a zip bomb and for legitimate files.

    .venv/bin/python bench/ingest_limits.py [--rows 100000] [--bomb-kb 300]

For each case a fresh real server (uvicorn, tests/support/server.py) is started, an analyst
signs in, and the extract is posted to the upload page while a second client asks for the
sign-in page every 0.1 s (after a 3-row warm-up upload, so that loading the ingest code is not
counted; --no-warm-up counts it). Prints, per case: the upload's wall time and status, the server's
peak resident memory growth (VmHWM minus the resident size before the upload, from /proc),
and the slowest answer the other client got while the upload ran (how long the server was
unable to answer anyone else). Cases:

- ``bomb``: an XLSX of about --bomb-kb KB whose sheet XML is highly compressible (the
  mapping's header, then the same row over and over): the kind of file of issue 7.
- ``xlsx`` and ``csv``: --rows legitimate rows of made-up people, as a partner would send.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.demo_like import DEMO_PASSWORD  # noqa: E402
from tests.support.server import running_server  # noqa: E402

MAPPING = """[source]
partner = "Northbrook Borough Council"
service = "Housing Options"
need = "homelessness"
legal_basis = "UK GDPR 6(1)(e); 9(2)(g) with DPA 2018 Sch.1"
dsa_reference = "DSA-2025-014"
retain_until = 2027-03-31

[columns]
record_id = "Client Ref"
forename = "First Name"
surname = "Last Name"
date_of_birth = { column = "DOB", format = "%d/%m/%Y" }
postcode = "Postcode"
event_date = { column = "Approach Date", format = "%d/%m/%Y" }
"""
HEADER = ["Client Ref", "First Name", "Last Name", "DOB", "Postcode", "Approach Date"]
ANALYST = "analyst@northbrook.example"
SLUG = "northbrook"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/></Relationships>'
)


def _inline_row(number: int, values: list[str]) -> str:
    cells = "".join(f'<c t="inlineStr"><is><t>{v}</t></is></c>' for v in values)
    return f'<row r="{number}">{cells}</row>'


def write_bomb(path: Path, target_kb: int) -> int:
    """An XLSX whose sheet repeats one row until the archive is about target_kb; returns the
    uncompressed size of the sheet XML."""
    row = ["H1", "Bill", "Smith", "01/02/1980", "M1 1AA", "03/04/2024"]
    body = _inline_row(2, row)
    chunk = body * 1_000
    written = 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, text in (("[Content_Types].xml", _CONTENT_TYPES), ("_rels/.rels", _ROOT_RELS),
                           ("xl/workbook.xml", _WORKBOOK), ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)):
            archive.writestr(name, text)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            head = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                    f"<sheetData>{_inline_row(1, HEADER)}")
            sheet.write(head.encode())
            written += len(head)
            # Deflate manages about 229:1 on a repeated row this long (its longest match is
            # 258 bytes); stop near the target archive size.
            while written < target_kb * 1024 * 229:
                sheet.write(chunk.encode())
                written += len(chunk)
            tail = "</sheetData></worksheet>"
            sheet.write(tail.encode())
            written += len(tail)
    return written


def _people(rows: int, seed: int = 7) -> list[list[str]]:
    rng = random.Random(seed)
    forenames = ["Amira", "Bill", "Chloe", "Dev", "Eilidh", "Femi", "Grace", "Hamza", "Isla", "Jack",
                 "Zoë", "Björn", "Siân", "Łukasz", "Niamh", "Oisín", "Priya", "Rhys", "Sofia", "Tom"]
    surnames = ["Smith", "Jones", "Taylor", "Brown", "O'Brien", "Khan", "Patel", "Williams",
                "Nowak", "Evans", "Davies", "Wilson", "Thomas", "Roberts", "Hughes", "Ali"]
    postcodes = ["M1 1AA", "DN55 1PT", "W1A 1HQ", "EC1A 1BB", "B33 8TH", "CR2 6XH", "LS1 4AP"]
    start = date(1940, 1, 1)
    out = []
    for i in range(rows):
        born = start + timedelta(days=rng.randrange(365 * 65))
        seen = date(2023, 4, 1) + timedelta(days=rng.randrange(700))
        out.append([f"H{i + 1}", rng.choice(forenames), rng.choice(surnames),
                    born.strftime("%d/%m/%Y"), rng.choice(postcodes), seen.strftime("%d/%m/%Y")])
    return out


def write_csv(path: Path, rows: int) -> None:
    lines = [",".join(HEADER)] + [",".join(r) for r in _people(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_xlsx(path: Path, rows: int) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Clients")
    sheet.append(HEADER)
    for row in _people(rows):
        sheet.append(row)
    book.save(path)


def _status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def _server_pid(port: int) -> int:
    """The uvicorn process listening on the port (the bench starts exactly one)."""
    import psutil

    for conn in psutil.net_connections(kind="tcp"):
        if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN and conn.pid:
            return int(conn.pid)
    raise RuntimeError(f"no process listens on port {port}")


@dataclass
class Result:
    case: str
    size_kb: float
    status: int
    seconds: float
    peak_growth_mb: float
    worst_other_ms: float
    other_answers: int
    message: str


def _sign_in(client: httpx.Client) -> None:
    page = client.get("/sign-in")
    token = _TOKEN.search(page.text)
    assert token, "no CSRF token on the sign-in page"
    response = client.post("/sign-in", data={"csrf_token": token.group(1), "email": ANALYST,
                                             "password": DEMO_PASSWORD})
    assert response.status_code == 303, response.status_code


def _run_case(case: str, extract: Path, work: Path, src: Path | None, warm: bool) -> Result:
    env = {"PYTHONPATH": str(src)} if src else None
    with running_server(work / case, timeout=120, env=env) as server:
        port = int(server.url.rsplit(":", 1)[1])
        pid = _server_pid(port)
        with httpx.Client(base_url=server.url, timeout=600, follow_redirects=False) as client:
            _sign_in(client)
            token_match = _TOKEN.search(client.get(f"/places/{SLUG}/insight/upload").text)
            assert token_match
            if warm:  # load the ingest code (pandas, openpyxl, DuckDB) before measuring
                tiny = "\n".join(",".join(r) for r in [HEADER, *_people(3)]) + "\n"
                client.post(f"/places/{SLUG}/insight/upload",
                            data={"csrf_token": token_match.group(1), "source": "warm-up"},
                            files={"extract": ("warm.csv", tiny.encode(), "text/csv"),
                                   "mapping_file": ("housing.toml", MAPPING.encode(), "text/plain")})
            before = _status_kib(pid, "VmRSS")
            waits: list[float] = []
            done = threading.Event()

            def other_user() -> None:
                with httpx.Client(base_url=server.url, timeout=600) as other:
                    while not done.is_set():
                        t0 = time.perf_counter()
                        other.get("/sign-in")
                        waits.append(time.perf_counter() - t0)
                        time.sleep(0.1)

            watcher = threading.Thread(target=other_user)
            watcher.start()
            time.sleep(0.3)
            t0 = time.perf_counter()
            response = client.post(
                f"/places/{SLUG}/insight/upload",
                data={"csrf_token": token_match.group(1), "source": case},
                files={"extract": (extract.name, extract.read_bytes(), "application/octet-stream"),
                       "mapping_file": ("housing.toml", MAPPING.encode(), "text/plain")},
            )
            seconds = time.perf_counter() - t0
            done.set()
            watcher.join()
            peak = _status_kib(pid, "VmHWM")
        error = re.search(r'govuk-error-message">\s*<span[^>]*>[^<]*</span>\s*([^<]*)<', response.text)
        message = (error.group(1).strip() if error else response.headers.get("location", ""))[:160]
        return Result(case=case, size_kb=extract.stat().st_size / 1024, status=response.status_code,
                      seconds=seconds, peak_growth_mb=max(0, peak - before) / 1024,
                      worst_other_ms=1000 * max(waits, default=0.0), other_answers=len(waits),
                      message=message)


def _machine() -> str:
    kib = _status_kib(os.getpid(), "VmRSS")  # proves /proc is there
    mem = next(line for line in Path("/proc/meminfo").read_text().splitlines()
               if line.startswith("MemTotal")).split()[1]
    del kib
    return (f"{os.cpu_count()} cores ({platform.machine()}), {int(mem) / 1024 / 1024:.0f} GiB RAM, "
            f"Python {platform.python_version()}, {platform.system()} {platform.release()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the legitimate files")
    parser.add_argument("--bomb-kb", type=int, default=300, help="size of the zip bomb")
    parser.add_argument("--cases", default="bomb,xlsx,csv")
    parser.add_argument("--src", type=Path, default=None,
                        help="serve the joinedup package from this src directory (to compare "
                             "with another checkout, e.g. main's)")
    parser.add_argument("--no-warm-up", action="store_true",
                        help="measure the server's first upload (the ingest code still to load)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="joinedup-ingest-bench-") as tmp:
        work = Path(tmp)
        files: dict[str, Path] = {}
        cases = args.cases.split(",")
        if "bomb" in cases:
            files["bomb"] = work / "bomb.xlsx"
            expanded = write_bomb(files["bomb"], args.bomb_kb)
            print(f"bomb: {files['bomb'].stat().st_size / 1024:,.0f} KB expanding to "
                  f"{expanded / 1024 / 1024:,.0f} MB of sheet XML")
        if "xlsx" in cases:
            files["xlsx"] = work / "clients.xlsx"
            write_xlsx(files["xlsx"], args.rows)
        if "csv" in cases:
            files["csv"] = work / "clients.csv"
            write_csv(files["csv"], args.rows)
        print(f"machine: {_machine()}")
        print(f"server code: {args.src or 'this checkout'}; "
              f"{'first upload' if args.no_warm_up else 'after a 3-row warm-up upload'}")
        print(f"{'case':<6} {'size':>9} {'status':>6} {'upload':>8} {'peak RSS +':>11} "
              f"{'slowest other answer':>21}  outcome")
        for case in cases:
            r = _run_case(case, files[case], work, args.src, warm=not args.no_warm_up)
            print(f"{r.case:<6} {r.size_kb:>7,.0f}KB {r.status:>6} {r.seconds:>7.1f}s "
                  f"{r.peak_growth_mb:>9,.0f}MB {r.worst_other_ms:>12,.0f} ms ({r.other_answers:>3})"
                  f"  {r.message}")


if __name__ == "__main__":
    main()
