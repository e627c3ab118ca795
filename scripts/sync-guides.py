#!/usr/bin/env python3
"""Writes the C# examples of docs/guides/*.md from samples/QuickStart/Guides.cs: a ```csharp block whose first line is
`// guide:NAME` gets the lines of that region (from `// guide:NAME` to `// end guide`, without the marks, dedented).
GuideExamplesTests fails when a page and the sample disagree: run this, then commit both.
    scripts/sync-guides.py"""
import pathlib, re, textwrap

root = pathlib.Path(__file__).resolve().parent.parent
source = (root / "samples/QuickStart/Guides.cs").read_text()
regions = {m.group(1): textwrap.dedent(m.group(2)).strip("\n")
           for m in re.finditer(r"^[ \t]*// guide:(\w+)\n(.*?)^[ \t]*// end guide\n", source, re.S | re.M)}
for page in sorted((root / "docs/guides").glob("*.md")):
    text = page.read_text()
    synced = re.sub(r"```csharp\n// guide:(\w+)\n.*?```",
                    lambda m: f"```csharp\n// guide:{m.group(1)}\n{regions[m.group(1)]}\n```", text, flags=re.S)
    if synced != text:
        page.write_text(synced)
        print(f"sync-guides: {page.relative_to(root)} written")
