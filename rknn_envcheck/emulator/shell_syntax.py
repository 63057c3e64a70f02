"""The emulated `sh -c`'s syntax: a script → tokens → [(connector, pipeline of Commands)].

What is supported and what is refused is listed in shell.py; this module only reads the text
(no board, no filesystem). Unsupported syntax raises ShellSyntaxError with what was found.
"""
from __future__ import annotations

from typing import List, Optional, Tuple

from rknn_envcheck.records import dataclass, field


class ShellSyntaxError(Exception):
    pass


@dataclass
class Word:
    # segments: (kind, text, quoted) with kind "lit" or "var"
    segments: List[Tuple[str, str, bool]] = field(default_factory=list)

    def add(self, kind: str, text: str, quoted: bool) -> None:
        self.segments.append((kind, text, quoted))


@dataclass
class Redir:
    fd: int
    op: str            # ">", ">>", "<", ">&"
    target: object     # Word, or int for ">&"


@dataclass
class Command:
    words: List[Word] = field(default_factory=list)
    redirs: List[Redir] = field(default_factory=list)


OPERATORS = ("&&", "||", ";", "|", "&", "\n")
_SPECIAL = set(" \t\n;&|<>")
_VAR_START = set("?$#!@*0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_NO_BACKTICKS = "backtick command substitution is not supported by the emulated shell"


def _read_var(s: str, i: int) -> Tuple[Optional[str], int]:
    """At s[i] == '$': return (name, next index) or (None, i+1) for a literal '$'."""
    j = i + 1
    if j < len(s) and s[j] == "{":
        end = s.find("}", j)
        if end < 0:
            raise ShellSyntaxError("missing }")
        return s[j + 1:end], end + 1
    if j < len(s) and s[j] == "(":
        raise ShellSyntaxError("command substitution $(...) is not supported by the emulated shell")
    if j < len(s) and s[j] in "?$#!@*0123456789":
        return s[j], j + 1
    k = j
    while k < len(s) and (s[k].isalnum() or s[k] == "_"):
        k += 1
    return (s[j:k], k) if k > j else (None, j)


class _Lexer:
    """One pass over the script: `self.i` is the position, `self.word` the word being built."""

    def __init__(self, s: str):
        self.s, self.i, self.n = s, 0, len(s)
        self.tokens: List[object] = []
        self.word: Optional[Word] = None

    def tokens_of_script(self) -> List[object]:
        s = self.s
        while self.i < self.n:
            c = s[self.i]
            if c in " \t":
                self._end_word()
                self.i += 1
            elif c == "#" and self.word is None:
                self._skip_comment()
            elif c == "`":
                raise ShellSyntaxError(_NO_BACKTICKS)
            elif c in "<>" or (c == "&" and s.startswith("&>", self.i)):
                self._redirection(c)
            elif c in ";&|\n":
                self._operator(c)
            else:
                self._word_part(c)
        self._end_word()
        return self.tokens

    def _end_word(self) -> None:
        if self.word is not None:
            self.tokens.append(self.word)
            self.word = None

    def _skip_comment(self) -> None:
        while self.i < self.n and self.s[self.i] != "\n":
            self.i += 1

    def _fd_prefix(self) -> Optional[int]:
        """A redirection's fd: the word so far when it is one unquoted number (`2>`)."""
        word = self.word
        if word is not None and len(word.segments) == 1 and word.segments[0][0] == "lit" \
                and not word.segments[0][2] and word.segments[0][1].isdigit():
            self.word = None
            return int(word.segments[0][1])
        return None

    def _redirection(self, c: str) -> None:
        s, n = self.s, self.n
        fd = self._fd_prefix()
        self._end_word()
        i = self.i
        if s.startswith("&>", i):
            self.tokens += [("redir", 1, ">"), ("dup", 2, 1)]
            self.i = i + 2
            return
        if c == "<":
            self.tokens.append(("redir", 0 if fd is None else fd, "<"))
            self.i = i + 1
            return
        op = ">>" if s.startswith(">>", i) else ">"
        i += len(op)
        if op == ">" and i < n and s[i] == "&":
            j = i + 1
            while j < n and s[j].isdigit():
                j += 1
            if j == i + 1:
                raise ShellSyntaxError("bad fd duplication after >&")
            self.tokens.append(("dup", 1 if fd is None else fd, int(s[i + 1:j])))
            self.i = j
            return
        self.tokens.append(("redir", 1 if fd is None else fd, op))
        self.i = i

    def _operator(self, c: str) -> None:
        self._end_word()
        two = self.s[self.i:self.i + 2]
        if two in ("&&", "||"):
            self.tokens.append(two)
            self.i += 2
        else:
            self.tokens.append(c)
            self.i += 1

    def _word_part(self, c: str) -> None:
        if self.word is None:
            self.word = Word()
        if c == "'":
            self._single_quoted()
        elif c == '"':
            self._double_quoted()
        elif c == "\\":
            self._escaped()
        elif c == "$":
            self._variable()
        else:
            self._plain()

    def _single_quoted(self) -> None:
        end = self.s.find("'", self.i + 1)
        if end < 0:
            raise ShellSyntaxError("unterminated quoted string")
        self.word.add("lit", self.s[self.i + 1:end], True)
        self.i = end + 1

    def _double_quoted(self) -> None:
        s, n, word = self.s, self.n, self.word
        i = self.i + 1
        buf = ""
        while True:
            if i >= n:
                raise ShellSyntaxError("unterminated quoted string")
            ch = s[i]
            if ch == '"':
                i += 1
                break
            if ch == "\\" and i + 1 < n and s[i + 1] in '$`"\\\n':
                buf += s[i + 1]
                i += 2
                continue
            if ch == "`":
                raise ShellSyntaxError(_NO_BACKTICKS)
            if ch == "$":
                name, j = _read_var(s, i)
                if name is not None:
                    if buf:
                        word.add("lit", buf, True)
                        buf = ""
                    word.add("var", name, True)
                    i = j
                    continue
            buf += ch
            i += 1
        word.add("lit", buf, True)
        if not word.segments:
            word.add("lit", "", True)
        self.i = i

    def _escaped(self) -> None:
        if self.i + 1 < self.n:
            if self.s[self.i + 1] != "\n":  # backslash-newline joins lines
                self.word.add("lit", self.s[self.i + 1], True)
            self.i += 2
        else:
            self.i += 1

    def _variable(self) -> None:
        name, j = _read_var(self.s, self.i)
        if name is None:
            self.word.add("lit", "$", False)
            self.i += 1
        else:
            self.word.add("var", name, False)
            self.i = j

    def _plain(self) -> None:
        s, n, j = self.s, self.n, self.i
        while j < n and s[j] not in _SPECIAL and s[j] not in "'\"\\$`":
            j += 1
        self.word.add("lit", s[self.i:j], False)
        self.i = j


def tokenize(s: str) -> List[object]:
    """Tokens: Word, operator strings, or ('redir', fd, op) tuples followed by their target."""
    return _Lexer(s).tokens_of_script()


_KEYWORDS = {"if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac", "function"}


def parse(s: str) -> List[Tuple[Optional[str], List[Command]]]:
    """Returns [(connector, pipeline)], connector None/';'/'&&'/'||' relating to the previous one."""
    tokens = tokenize(s)
    result: List[Tuple[Optional[str], List[Command]]] = []
    pipeline: List[Command] = []
    cmd = Command()
    connector: Optional[str] = None
    i = 0

    def end_command():
        nonlocal cmd
        if not cmd.words and not cmd.redirs:
            raise ShellSyntaxError("syntax error: unexpected operator")
        pipeline.append(cmd)
        cmd = Command()

    while i < len(tokens):
        tok = tokens[i]
        if isinstance(tok, Word):
            if not cmd.words and len(tok.segments) == 1 and not tok.segments[0][2] and tok.segments[0][1] in _KEYWORDS | {"(", "{"}:
                raise ShellSyntaxError(f"`{tok.segments[0][1]}` blocks are not supported by the emulated shell")
            cmd.words.append(tok)
        elif isinstance(tok, tuple) and tok[0] == "dup":
            cmd.redirs.append(Redir(tok[1], ">&", tok[2]))
        elif isinstance(tok, tuple):
            if i + 1 >= len(tokens) or not isinstance(tokens[i + 1], Word):
                raise ShellSyntaxError("syntax error: redirection without a file name")
            cmd.redirs.append(Redir(tok[1], tok[2], tokens[i + 1]))
            i += 1
        elif tok == "|":
            end_command()
        else:  # ; & \n && ||
            if cmd.words or cmd.redirs:
                end_command()
            elif pipeline or tok in ("&&", "||"):
                raise ShellSyntaxError(f"syntax error: unexpected {tok!r}")
            if pipeline:
                result.append((connector, pipeline))
                pipeline = []
            connector = tok if tok in ("&&", "||") else ";"
        i += 1
    if cmd.words or cmd.redirs:
        end_command()
    elif pipeline:
        raise ShellSyntaxError("syntax error: unexpected end of file")
    if pipeline:
        result.append((connector, pipeline))
    elif connector in ("&&", "||"):
        raise ShellSyntaxError("syntax error: unexpected end of file")
    return result
