"""Writes data/heldout.txt, the held-out text for perplexity checks: Genesis 37-45 (the story of
Joseph) from the King James Version, a public-domain English prose text, as Debian's bible-kjv
package prints it (bookworm: bible-kjv 4.38 + bible-kjv-text 4.38; `apt-get install bible-kjv`).
Verse references are dropped and each chapter becomes one paragraph.

    python3 tools/gguf_make_heldout.py > data/heldout.txt
"""

import re
import subprocess

CHAPTERS = range(37, 46)


def chapter(n):
    out = subprocess.run(["bible", "-f", f"Genesis {n}:1-{n}:99"], capture_output=True, text=True,
                         check=True).stdout
    verses = []
    for line in out.splitlines():
        m = re.match(r"^Ge\d+:\d+ (.*)$", line.strip())
        if m:
            verses.append(m.group(1))
        elif line.strip() and verses:  # wrapped continuation of a long verse
            verses[-1] += " " + line.strip()
    return " ".join(verses)


if __name__ == "__main__":
    print("\n\n".join(chapter(n) for n in CHAPTERS))
