#!/usr/bin/env python3
"""Lists import loops between the modules of each crate (code outside `#[cfg(test)]` modules).

A module is a file under crates/<crate>/src; `use crate::a::b` and `super::` paths are resolved to the
file they name. Prints each loop found and exits 1 if there is any, so it can guard the layering.
Usage: scripts/module-cycles.py [crates-dir]
"""
import os
import re
import sys


def modules(src):
    """Map of module path (tuple) -> file path."""
    found = {}
    for root, _, files in os.walk(src):
        for name in files:
            if not name.endswith('.rs') or root.endswith('/bin'):
                continue
            rel = os.path.relpath(os.path.join(root, name), src)[:-3].split(os.sep)
            if rel[-1] in ('mod', 'lib'):
                rel = rel[:-1]
            found[tuple(rel)] = os.path.join(root, name)
    return found


def strip_tests(text):
    """The file without its `#[cfg(test)] mod ... { ... }` blocks."""
    out, i = [], 0
    for m in re.finditer(r'#\[cfg\(test\)\]\s*(pub(\([^)]*\))?\s+)?mod\s+\w+\s*\{', text):
        if m.start() < i:
            continue
        out.append(text[i:m.start()])
        depth, j = 1, m.end()
        while depth and j < len(text):
            depth += {'{': 1, '}': -1}.get(text[j], 0)
            j += 1
        i = j
    out.append(text[i:])
    return ''.join(out)


def resolve(path, here, mods):
    """The longest known module that the `::`-path names, from module `here`."""
    parts = path.split('::')
    if parts[0] == 'crate':
        base, parts = (), parts[1:]
    elif parts[0] == 'super':
        base = here[:-1]
        parts = parts[1:]
        while parts and parts[0] == 'super':
            base, parts = base[:-1], parts[1:]
    elif parts[0] == 'self':
        base, parts = here, parts[1:]
    else:
        return None
    best = None
    for n in range(len(parts), -1, -1):
        cand = base + tuple(parts[:n])
        if cand in mods:
            best = cand
            break
    return best


def edges(mods):
    graph = {m: set() for m in mods}
    for m, file in mods.items():
        text = strip_tests(open(file).read())
        for path in re.findall(r'\b((?:crate|super|self)(?:::\w+)+)', text):
            target = resolve(path, m, mods)
            # A module reaching into its own children or its parent's wiring file is not a loop risk.
            if target is None or target == m or target == () or m[:len(target)] == target:
                continue
            graph[m].add(target)
    return graph


def cycles(graph):
    """Every pair of modules that import each other, directly or through others (one loop each)."""
    found, seen = [], set()
    for start in graph:
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in graph[node]:
                if nxt == start and len(path) > 1:
                    key = frozenset(path)
                    if key not in seen:
                        seen.add(key)
                        found.append(path + [start])
                elif nxt not in path and len(path) < 6:
                    stack.append((nxt, path + [nxt]))
    return found


def main():
    crates = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', 'crates')
    total = 0
    for crate in sorted(os.listdir(crates)):
        src = os.path.join(crates, crate, 'src')
        if not os.path.isdir(src):
            continue
        loops = cycles(edges(modules(src)))
        for loop in loops:
            print(f"{crate}: " + ' -> '.join('::'.join(m) or 'lib' for m in loop))
        total += len(loops)
    print(f"{total} import loops")
    sys.exit(1 if total else 0)


if __name__ == '__main__':
    main()
