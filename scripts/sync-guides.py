#!/usr/bin/env python3
"""Writes the C# examples of docs/guides/*.md from samples/QuickStart/Guides.cs: a ```csharp block whose first line is
`// guide:NAME` gets the lines of that region (from `// guide:NAME` to `// end guide`, without the marks, dedented).
With --check it writes nothing and exits 1 naming the pages that differ (GuideExamplesTests runs that).
    scripts/sync-guides.py [--check]"""
import pathlib, re, sys, textwrap

check = "--check" in sys.argv[1:]
root = pathlib.Path(__file__).resolve().parent.parent
source = (root / "samples/QuickStart/Guides.cs").read_text()
regions = {m.group(1): textwrap.dedent(m.group(2)).strip("\n")
           for m in re.finditer(r"^[ \t]*// guide:(\w+)\n(.*?)^[ \t]*// end guide\n", source, re.S | re.M)}


def region(match):
    name = match.group(1)
    if name not in regions:
        sys.exit(f"sync-guides: a page shows // guide:{name}, which samples/QuickStart/Guides.cs does not have")
    return f"```csharp\n// guide:{name}\n{regions[name]}\n```"


stale = []
for page in sorted((root / "docs/guides").glob("*.md")):
    text = page.read_text()
    if "```csharp\n// guide:" not in text:
        sys.exit(f"sync-guides: {page.relative_to(root)} shows no C# from samples/QuickStart/Guides.cs")
    synced = re.sub(r"```csharp\n// guide:(\w+)\n.*?```", region, text, flags=re.S)
    if synced != text:
        stale.append(str(page.relative_to(root)))
        if not check:
            page.write_text(synced)
            print(f"sync-guides: {page.relative_to(root)} written")
if check and stale:
    sys.exit("sync-guides: these pages differ from samples/QuickStart/Guides.cs (run scripts/sync-guides.py): " + ", ".join(stale))
