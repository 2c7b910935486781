"""The Python snippets of docs/*.md, run as written against a Rust party.

A fenced ```python block in docs/*.md runs when the line before it is an
HTML comment `<!-- interop: rust=NAME ... -->`, NAME being the peer the
snippet talks to, which a Rust party (`mpc echo --count 1`) plays; every
other Python block is left alone. For each marked block the scenario

1. makes certificates for the snippet's party (its `Pool("NAME", ...)`)
   and NAME with `mpc certs` in a fresh directory, which becomes the
   snippet's working directory (so `alice.crt`, `alice.key`, `ca.crt` are
   there as the snippet names them);
2. starts the Rust party on 127.0.0.1 (with TLS, pinning the Python
   party's certificate, when the snippet uses `ssl`);
3. substitutes these placeholders and nothing else (each must occur
   exactly once, or the scenario fails, so a changed snippet cannot be
   skipped silently):
   * `addr="0.0.0.0"` -> `addr="127.0.0.1"` (the suite stays on loopback),
   * `port=NNNN` (the Python party's own port) -> a free port,
   * `HttpConnection("HOST", NNNN` (the Rust party's address) ->
     `HttpConnection("127.0.0.1", <the Rust party's port>`;
4. runs the snippet with this Python (the suite's venv); it passes when
   the snippet exits 0 within 60 s and the Rust party echoed its message
   and exited 0.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Awaitable, Callable

from common import Failure, free_port, start_rust

DOCS = Path(__file__).resolve().parent.parent / "docs"
MARKER = re.compile(r"<!--\s*interop:\s*rust=(\w+)[^>]*-->\s*\n```python\n(.*?)```", re.S)


@dataclass(frozen=True)
class Snippet:
    name: str
    file: str
    line: int
    rust: str
    code: str


def snippets() -> list[Snippet]:
    """The marked Python blocks of docs/*.md, in file order."""
    out = []
    for path in sorted(DOCS.glob("*.md")):
        text = path.read_text()
        for i, m in enumerate(MARKER.finditer(text)):
            line = text.count("\n", 0, m.start()) + 1
            stem = path.stem.lower()
            out.append(Snippet(f"docs-python-{stem}-{i + 1}", path.name, line, m.group(1), m.group(2)))
    return out


def substitute(code: str, py_port: int, rust_port: int) -> str:
    """The documented placeholders, each exactly once."""
    rules = [
        (r'addr="0\.0\.0\.0"', 'addr="127.0.0.1"'),
        (r"\bport=\d+", f"port={py_port}"),
        (r'HttpConnection\("[^"]+", \d+', f'HttpConnection("127.0.0.1", {rust_port}'),
    ]
    for pattern, repl in rules:
        code, n = re.subn(pattern, repl, code)
        if n != 1:
            raise Failure(f"placeholder {pattern!r} occurs {n} times in the snippet (expected once)")
    return code


def scenario(s: Snippet) -> Callable[[Any, Any], Awaitable[None]]:
    async def run(ctx: Any, collector: Any) -> None:
        if not ctx.mpc_bin:
            raise Failure("needs the mpc binary (--mpc-bin) for the Rust party")
        m = re.search(r'Pool\(\s*"(\w+)"', s.code)
        if not m:
            raise Failure(f"{s.file}:{s.line}: no Pool(\"NAME\", ...) in the snippet")
        py = m.group(1)
        tls = "import ssl" in s.code
        work = Path(tempfile.mkdtemp(prefix=f"{s.name}-"))
        try:
            proc = await asyncio.create_subprocess_exec(
                ctx.mpc_bin, "certs", "--parties", f"{py},{s.rust}", "--out", str(work), "--force",
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            )
            _, err = await proc.communicate()
            if proc.returncode != 0:
                raise Failure(f"mpc certs failed: {err.decode(errors='replace')[:300]}")
            py_port = free_port()
            extra = ["--count", "1"]
            if tls:
                extra += ["--tls-key", str(work / f"{s.rust}.key"), "--tls-cert", str(work / f"{s.rust}.crt"),
                          "--tls-ca", str(work / "ca.crt"), "--peer-cert", f"{py}={work / f'{py}.crt'}"]
            rust = await start_rust(ctx.mpc_bin, "echo", s.rust, {py: py_port}, ctx.log("rust"), extra)
            code = substitute(s.code, py_port, rust.port)
            (work / "snippet.py").write_text(code)
            with open(ctx.log("python"), "wb") as out:
                snippet = await asyncio.create_subprocess_exec(
                    sys.executable, "snippet.py", cwd=work, stdout=out, stderr=asyncio.subprocess.STDOUT,
                    stdin=asyncio.subprocess.DEVNULL,
                )
                try:
                    status = await asyncio.wait_for(snippet.wait(), 60)
                except asyncio.TimeoutError:
                    snippet.kill()
                    await snippet.wait()
                    status = None
            output = ctx.log("python").read_text(errors="replace")
            ctx.check(
                f"{s.file}:{s.line} runs as written and exits 0",
                None if status == 0 else f"exit {status}; output {ctx.log('python')}: {output[-400:]!r}",
            )
            rust_status = await rust.wait(20)
            ctx.check(
                f"the Rust party {s.rust} echoed the snippet's message and exited 0",
                None if rust_status == 0 else f"exit {rust_status}; log {rust.log}",
            )
            ctx.notes.append(f"{s.file}:{s.line}, Python {py} with Rust {s.rust}{' over TLS' if tls else ''}")
        finally:
            shutil.rmtree(work, ignore_errors=True)

    return run


async def all_python_blocks_are_marked(ctx: Any, collector: Any) -> None:
    """Every ```python block of docs/*.md is marked, hence run."""
    marked = {(s.file, s.line) for s in snippets()}
    for path in sorted(DOCS.glob("*.md")):
        text = path.read_text()
        for m in re.finditer(r"^```python$", text, re.M):
            line = text.count("\n", 0, m.start()) + 1
            is_marked = any(f == path.name and 0 < line - l <= 1 for f, l in marked)
            ctx.check(
                f"{path.name}:{line} is run by the suite",
                None if is_marked else "a ```python block without an `<!-- interop: rust=NAME -->` line before it",
            )
    ctx.check("docs hold Python snippets to run", None if marked else "none found")
