"""Finding many known words in text without compiling one regex for all of them.

`text.trie_pattern` turns a word list into one regex; for the 70k perfume names of the
38k catalog Python's `re` takes ~9 s to compile it, at every start, and the compiled
pattern cannot be saved. `WordMatcher` finds exactly the same matches (what
`re.compile(trie_pattern(words)).finditer(text)` finds) from a set and a small index of
word lengths, built in a fraction of a second.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator


def _alnum(ch: str) -> bool:
    """Whether `ch` is what the regex's `[a-z0-9]` boundary tests: a lower-case ASCII letter or a digit."""
    return ("a" <= ch <= "z") or ("0" <= ch <= "9")


class WordMatcher:
    """Non-overlapping matches of `words` in a text, scanned left to right, longest word first.

    The rules are those of `trie_pattern` (english_boundary=True): a word that begins with an
    ASCII letter or digit starts only where no `[a-z0-9]` precedes it, one that ends with one
    ends only where none follows; other words (Korean) match inside longer text. At each
    position the longest word that fits wins; the scan resumes after it.
    """

    def __init__(self, words: Iterable[str]) -> None:
        self.words = frozenset(w for w in words if w)
        # The first two characters (one, for a one-character word) -> the lengths of the words
        # they begin, longest first: the few slices worth looking up at a position.
        lengths: dict[str, set[int]] = {}
        for word in self.words:
            lengths.setdefault(word[:2], set()).add(len(word))
        self._lengths = {head: tuple(sorted(found, reverse=True)) for head, found in lengths.items()}

    def __len__(self) -> int:
        return len(self.words)

    def finditer(self, text: str) -> Iterator[tuple[int, int]]:
        """(start, end) of each match, as `re.finditer` with the trie pattern would give them."""
        words, lengths_of, size = self.words, self._lengths, len(text)
        position = 0
        while position < size:
            first = text[position]
            end = -1
            if not (first.isascii() and first.isalnum() and position > 0 and _alnum(text[position - 1])):
                two: tuple[int, ...] = lengths_of.get(text[position : position + 2], ())
                one: tuple[int, ...] = lengths_of.get(first, ())
                for length in two + one:
                    stop = position + length
                    if stop > size or text[position:stop] not in words:
                        continue
                    last = text[stop - 1]
                    if stop < size and last.isascii() and last.isalnum() and _alnum(text[stop]):
                        continue  # an English word ends only at a boundary
                    end = stop
                    break
            if end < 0:
                position += 1
                continue
            yield position, end
            position = end
