"""The ``tokensieve`` command line: ``validate``, ``generate``, ``compile``, ``inspect``.

Results go to stdout, diagnostics to stderr. torch and transformers are imported only by ``generate`` and by
``compile --tokenizer``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import traceback
from enum import IntEnum
from pathlib import Path
from typing import Any, TextIO

from ._errors import (
    GrammarError,
    LimitExceededError,
    SchemaError,
    TokensieveError,
    UnsupportedFeatureError,
    VocabularyError,
)

__all__ = ["ExitCode", "main"]

log = logging.getLogger("tokensieve")


class ExitCode(IntEnum):
    """Process exit status of ``tokensieve``."""

    OK = 0
    FAILURE = 1  # a document is invalid, or generation did not produce a valid document
    USAGE = 2  # bad command line (argparse's own code)
    UNSUPPORTED = 3  # valid schema/grammar using a feature that cannot be honoured exactly
    INPUT_ERROR = 4  # bad schema, grammar, JSON input, file or model
    INTERNAL_ERROR = 70  # a bug in tokensieve: please report it
    INTERRUPTED = 130  # Ctrl-C


_EPILOG = """exit codes:
  0    success (documents valid, grammar compiled, valid output generated)
  1    a document is invalid, or generation ended without a valid document
  2    usage error
  3    unsupported schema/grammar feature (the input is valid but cannot be honoured exactly)
  4    invalid input: bad schema, grammar or JSON, missing file, model not found
  70   internal error (please report)
  130  interrupted (Ctrl-C)
"""

_FORMATS = {".lark": "lark", ".gbnf": "gbnf", ".regex": "regex", ".re": "regex"}


class _InputError(TokensieveError):
    """A file or stdin problem found by the CLI itself (exit 4)."""


class _UsageError(TokensieveError):
    """A command-line combination argparse cannot express (exit 2)."""


# ------------------------------------------------------------------------------------------- helpers

def _read_text(source: str, stdin: TextIO) -> str:
    if source == "-":
        buf = getattr(stdin, "buffer", None)
        data = buf.read() if buf is not None else stdin.read()
    else:
        try:
            data = Path(source).expanduser().read_bytes()
        except FileNotFoundError:
            raise _InputError(f"{source}: file not found") from None
        except IsADirectoryError:
            raise _InputError(f"{source}: is a directory") from None
        except OSError as e:
            raise _InputError(f"{source}: cannot read: {e.strerror or e}") from None
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise _InputError(f"{source}: not UTF-8 text (byte {e.start})") from None
    return data


def _load_schema_arg(value: str, stdin: TextIO) -> tuple[Any, str]:
    """The schema from a file path, ``-`` (stdin) or inline JSON text, and a label for messages."""
    from ._generate import _parse_schema_text, load_schema

    if value == "-":
        return _parse_schema_text(_read_text("-", stdin), "schema on stdin"), "<stdin>"
    schema, _ = load_schema(value)
    return schema, ("<inline>" if value.lstrip()[:1] in "{[" else value)


def _schema_options(args: argparse.Namespace) -> dict:
    return {"lenient": True} if getattr(args, "lenient", False) else {}


def _load_grammar(args: argparse.Namespace, stdin: TextIO):
    """The Grammar named by ``--schema`` or ``--grammar`` (with ``--format``)."""
    from .grammar import Grammar

    if args.schema is not None:
        schema, _ = _load_schema_arg(args.schema, stdin)
        return Grammar.from_json_schema(schema, **_schema_options(args))
    fmt = args.format or _FORMATS.get(Path(args.grammar).suffix.lower(), "lark")
    text = _read_text(args.grammar, stdin)
    if fmt == "lark":
        return Grammar.from_lark(text)
    if fmt == "gbnf":
        return Grammar.from_gbnf(text)
    return Grammar.from_regex(text.strip("\r\n"))


def _pointer(parts) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _error_fields(err: Any) -> tuple[str, str]:
    """(JSON pointer of the instance location, message) for whatever ``tokensieve.validate`` reports."""
    if isinstance(err, dict):
        return str(err.get("pointer", err.get("path", ""))), str(err.get("message", err))
    message = str(getattr(err, "message", err))
    for attr in ("pointer", "json_pointer", "instance_pointer"):
        value = getattr(err, attr, None)
        if isinstance(value, str):
            return value, message
    for attr in ("absolute_path", "instance_path", "path"):
        value = getattr(err, attr, None)
        if isinstance(value, str):
            return value, message
        if value is not None:
            try:
                return _pointer(list(value)), message
            except TypeError:
                pass
    return "", message


def _parse_documents(text: str, source: str, jsonl: bool) -> list[tuple[int | None, Any]]:
    """``(line, document)`` pairs: one JSON document, or one per non-blank line (JSONL)."""
    if not jsonl:
        try:
            return [(None, json.loads(text))]
        except RecursionError:  # the C decoder recurses per nesting level
            raise _InputError(f"{source}: JSON nested too deeply to parse") from None
        except json.JSONDecodeError as e:
            if e.msg != "Extra data":
                raise _InputError(f"{source}:{e.lineno}:{e.colno}: invalid JSON: {e.msg}") from None
            # several documents: fall through to JSON Lines
    docs = []
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                docs.append((n, json.loads(line)))
            except RecursionError:
                raise _InputError(f"{source}:{n}: JSON nested too deeply to parse") from None
            except json.JSONDecodeError as e:
                raise _InputError(f"{source}:{n}:{e.colno}: invalid JSON: {e.msg}") from None
    if not docs:
        raise _InputError(f"{source}: no JSON document")
    return docs


def _print(stream: TextIO, text: str = "") -> None:
    stream.write(text + "\n")
    stream.flush()


# ------------------------------------------------------------------------------------------- commands

def _cmd_validate(args, stdin, stdout, stderr) -> int:
    from . import schema as schema_mod

    schema, _ = _load_schema_arg(args.schema, stdin)
    sources = list(args.inputs)
    if not sources:
        if stdin.isatty():
            raise _UsageError("no input: give JSON files or '-' for stdin")
        sources = ["-"]
    if sources.count("-") + (args.schema == "-") > 1:
        raise _UsageError("stdin ('-') can be read only once")
    report, n_docs, n_invalid, input_errors = [], 0, 0, 0
    for source in sources:
        label = "<stdin>" if source == "-" else source
        try:
            jsonl = args.jsonl or Path(source).suffix.lower() in (".jsonl", ".ndjson")
            docs = _parse_documents(_read_text(source, stdin), label, jsonl)
        except _InputError as e:
            _print(stderr, f"tokensieve validate: {e}")
            report.append({"source": label, "error": str(e)})
            input_errors += 1
            continue
        for line, doc in docs:
            n_docs += 1
            where = label if line is None else f"{label}:{line}"
            errors = [_error_fields(e) for e in schema_mod.validate(doc, schema)]
            n_invalid += bool(errors)
            report.append({"source": label, "line": line, "valid": not errors,
                           "errors": [{"pointer": p, "message": m} for p, m in errors]})
            if not args.json:
                for p, m in errors:
                    _print(stdout, f"{where}: {p or '(root)'}: {m}")
    if args.json:
        _print(stdout, json.dumps({"valid": n_invalid == 0 and not input_errors, "documents": n_docs,
                                   "invalid": n_invalid, "results": report}, ensure_ascii=False))
    _print(stderr, f"{n_docs} document{'s' * (n_docs != 1)}, {n_invalid} invalid"
                   + (f", {input_errors} unreadable input{'s' * (input_errors != 1)}" if input_errors else ""))
    if input_errors:
        return ExitCode.INPUT_ERROR
    return ExitCode.FAILURE if n_invalid else ExitCode.OK


def _cmd_generate(args, stdin, stdout, stderr) -> int:
    from ._generate import generate

    if args.n < 1:
        raise _UsageError("--n must be at least 1")
    if args.prompt == "-" and "-" in (args.schema, args.grammar):
        raise _UsageError("stdin ('-') cannot hold both the prompt and the schema/grammar")
    schema = grammar = None
    if args.schema is not None:
        schema, _ = _load_schema_arg(args.schema, stdin)
    else:
        grammar = _load_grammar(args, stdin)
    if args.prompt is None:
        if stdin.isatty():
            raise _UsageError("give --prompt TEXT, or --prompt - to read it from stdin")
        args.prompt = "-"
    prompt = _read_text("-", stdin) if args.prompt == "-" else args.prompt

    from . import _model

    t = time.perf_counter()
    model, tokenizer = _model.load_model(args.model)
    log.info("model loaded in %.1f s", time.perf_counter() - t)

    def on_text(piece: str) -> None:
        stderr.write(piece)
        stderr.flush()

    failed = False
    if args.sampler in ("asap", "cars"):
        # one call: the samples share the sampler's trie, which is what makes later ones more exact
        results = generate(
            model, tokenizer, prompt, schema=schema, grammar=grammar, max_new_tokens=args.max_new_tokens,
            temperature=args.temperature, seed=args.seed, sampler=args.sampler, num_samples=args.n,
            chat=not args.no_chat, system=args.system, return_details=True,
            schema_options=_schema_options(args) or None)
        results = results if isinstance(results, list) else [results]
        for result in results:
            if args.json:
                _print(stdout, json.dumps({"text": result.text, "valid": result.valid,
                                           "tokens": len(result.token_ids)}, ensure_ascii=False))
            else:
                _print(stdout, json.dumps(json.loads(result.text), ensure_ascii=False)
                       if result.valid and schema is not None else result.text)
            failed = failed or not result.valid
        log.info("sampler: %s", json.dumps(results[0].sampler_stats, default=str))
        return ExitCode.FAILURE if failed else ExitCode.OK
    for i in range(args.n):
        seed = None if args.seed is None else args.seed + i
        result = generate(
            model, tokenizer, prompt, schema=schema, grammar=grammar, max_new_tokens=args.max_new_tokens,
            temperature=args.temperature, top_p=args.top_p, seed=seed, sampler=args.sampler, chat=not args.no_chat,
            system=args.system, finish_within_budget=not args.no_budget, jump_forward=not args.no_jump_forward,
            return_details=True, stream=on_text if args.stream else None,
            schema_options=_schema_options(args) or None,
        )
        if args.stream:
            _print(stderr)
        if args.json:
            record = {"text": result.text, "valid": result.valid, "finished": result.finished,
                      "stop_reason": result.stop_reason, "errors": result.errors,
                      "tokens": len(result.token_ids), "timings": result.timings}
            _print(stdout, json.dumps(record, ensure_ascii=False))
        elif args.n > 1 and result.valid and schema is not None:
            # one sample per line, even when the model chose multi-line whitespace
            _print(stdout, json.dumps(json.loads(result.text), ensure_ascii=False))
        else:
            _print(stdout, result.text)
        if result.stop_reason == "interrupted":
            _print(stderr, "tokensieve: interrupted")
            return ExitCode.INTERRUPTED
        if result.valid is False:
            failed = True
            label = f"sample {i + 1}: " if args.n > 1 else ""
            _print(stderr, f"tokensieve generate: {label}no valid document: " + "; ".join(result.errors))
        log.info("%d tokens (%d forced), TTFT %.3f s, %.1f ms/token, stop: %s", len(result.token_ids),
                 result.timings.get("forced_tokens", 0), result.timings.get("ttft_s", 0.0),
                 1000 * result.timings.get("tpot_s", 0.0), result.stop_reason)
    return ExitCode.FAILURE if failed else ExitCode.OK


def _cmd_compile(args, stdin, stdout, stderr) -> int:
    t0 = time.perf_counter()
    grammar = _load_grammar(args, stdin)
    t_grammar = time.perf_counter() - t0
    stats: dict[str, Any] = {
        "source": args.schema if args.schema is not None else args.grammar,
        "grammar_s": round(t_grammar, 6),
        "terminals": len(grammar.terminals),
        "nonterminals": len(grammar.nonterminals),
        "rules": len(grammar.rules),
        "symbols": sum(len(r.body) for r in grammar.rules),
    }
    if args.tokenizer is not None:
        from . import _model, masking

        tokenizer = _model.load_tokenizer(args.tokenizer)
        vocab = masking.Vocabulary.from_huggingface(tokenizer)
        t1 = time.perf_counter()
        compiled = masking.compile(grammar, vocab)
        t2 = time.perf_counter()
        bitmask = masking.allocate_token_bitmask(1, vocab.size)
        masking.Matcher(compiled).fill_next_token_bitmask(bitmask, 0)
        stats.update(vocab_size=vocab.size, compile_s=round(t2 - t1, 6),
                     first_mask_s=round(time.perf_counter() - t2, 6))
    if args.json:
        _print(stdout, json.dumps(stats))
    else:
        for key, value in stats.items():
            _print(stdout, f"{key}: {value}")
    return ExitCode.OK


def _cmd_inspect(args, stdin, stdout, stderr) -> int:
    _print(stdout, _load_grammar(args, stdin).to_text())
    return ExitCode.OK


# ------------------------------------------------------------------------------------------- parser

def _add_source(p: argparse.ArgumentParser, *, grammar: bool = True) -> None:
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--schema", metavar="S", help="JSON Schema: a file, '-' for stdin, or inline JSON")
    if grammar:
        group.add_argument("--grammar", metavar="G", help="grammar file ('-' for stdin)")
        p.add_argument("--format", choices=["lark", "gbnf", "regex"],
                       help="grammar format (default: from the file extension, else lark)")
    p.add_argument("--lenient", action="store_true",
                   help="accept documented approximations instead of failing on unsupported keywords")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="tokensieve", description="Validate JSON, compile grammars and generate constrained output.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"tokensieve {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more diagnostics on stderr")
    parser.add_argument("-q", "--quiet", action="store_true", help="only errors on stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    # -v/-q are accepted after the subcommand too; SUPPRESS keeps the subparser from resetting the global value
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS, help="more diagnostics")
    common.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="only errors")

    def command(name: str, help_: str, func) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_, epilog=_EPILOG, parents=[common],
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.set_defaults(func=func)
        return p

    p = command("validate", "check JSON or JSON Lines documents against a JSON Schema", _cmd_validate)
    p.add_argument("--schema", required=True, metavar="S", help="JSON Schema: a file, '-' or inline JSON")
    p.add_argument("inputs", nargs="*", metavar="FILE", help="JSON/JSONL files; '-' or none: stdin")
    p.add_argument("--jsonl", action="store_true", help="inputs are JSON Lines (default: by extension)")
    p.add_argument("--json", action="store_true", help="print one JSON report on stdout")

    p = command("generate", "generate a document that conforms to a schema or grammar", _cmd_generate)
    _add_source(p)
    p.add_argument("--prompt", "-p", metavar="P", help="the prompt; '-' reads stdin")
    p.add_argument("--model", "-m", default=None,
                   help="model directory, .gguf file or HF hub id (default: embedded SmolLM2-135M-Instruct)")
    p.add_argument("--system", help="system message")
    p.add_argument("--max-new-tokens", type=int, default=256, metavar="N")
    p.add_argument("--temperature", type=float, default=0.0, metavar="T", help="0 = greedy (default)")
    p.add_argument("--sampler", choices=["greedy", "sample", "asap", "cars"], default=None,
                   help="decoding: greedy/sample (masked), or grammar-aligned asap/cars (--n samples share one trie)")
    p.add_argument("--top-p", type=float, default=1.0, metavar="P")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--n", type=int, default=1, metavar="N", help="number of samples (seeds seed, seed+1, ...)")
    p.add_argument("--no-chat", action="store_true", help="do not apply the tokenizer's chat template")
    p.add_argument("--no-budget", action="store_true",
                   help="do not force the document to complete within --max-new-tokens")
    p.add_argument("--no-jump-forward", action="store_true", help="sample forced tokens instead of inserting them")
    p.add_argument("--stream", action="store_true", help="echo tokens to stderr as they are generated")
    p.add_argument("--json", action="store_true", help="print a JSON record per sample (text, validity, timings)")

    p = command("compile", "compile a schema or grammar and report its size and compile time", _cmd_compile)
    _add_source(p)
    p.add_argument("--tokenizer", metavar="T",
                   help="also bind to this tokenizer ('smollm2', a directory or HF id) and time the first mask")
    p.add_argument("--json", action="store_true", help="print the report as JSON")

    p = command("inspect", "print the grammar a schema or grammar file compiles to", _cmd_inspect)
    _add_source(p)
    return parser


def _configure_logging(args: argparse.Namespace, stderr: TextIO) -> None:
    level = logging.WARNING if args.quiet else logging.DEBUG if args.verbose else logging.INFO
    logger = logging.getLogger("tokensieve")
    for h in list(logger.handlers):
        if getattr(h, "_tokensieve_cli", False):
            logger.removeHandler(h)
    handler = logging.StreamHandler(stderr)
    handler.setFormatter(logging.Formatter("tokensieve: %(message)s"))
    handler._tokensieve_cli = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False


def main(argv: list[str] | None = None, *, stdin: TextIO | None = None, stdout: TextIO | None = None,
         stderr: TextIO | None = None) -> int:
    """Run the command line; returns the exit code (see :class:`ExitCode`)."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, or a usage error already printed by argparse
        return int(e.code or 0)
    _configure_logging(args, stderr)
    prog = f"tokensieve {args.command}"

    from ._model import MissingDependencyError, ModelNotFoundError
    from ._generate import InvalidArgumentError

    try:
        return int(args.func(args, stdin, stdout, stderr))
    except KeyboardInterrupt:
        _print(stderr, "tokensieve: interrupted")
        return ExitCode.INTERRUPTED
    except UnsupportedFeatureError as e:
        _print(stderr, f"{prog}: {e}")
        return ExitCode.UNSUPPORTED
    except (_UsageError, InvalidArgumentError) as e:
        _print(stderr, f"{prog}: error: {e}")
        return ExitCode.USAGE
    except (_InputError, SchemaError, GrammarError, VocabularyError, LimitExceededError, ModelNotFoundError,
            MissingDependencyError) as e:
        _print(stderr, f"{prog}: error: {e}")
        return ExitCode.INPUT_ERROR
    except TokensieveError as e:
        _print(stderr, f"{prog}: error: {e}")
        return ExitCode.FAILURE
    except BrokenPipeError:
        # the reader went away (e.g. `| head`); not an error of ours
        return ExitCode.OK
    except Exception:
        _print(stderr, f"{prog}: internal error, please report it with this traceback:")
        stderr.write(traceback.format_exc())
        return ExitCode.INTERNAL_ERROR
