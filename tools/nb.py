"""Writes a notebook from a plain text source: cells separated by lines '# %% [markdown]' or '# %%'."""
import json, sys
src, out = sys.argv[1], sys.argv[2]
cells, kind, buf = [], None, []
def flush():
    if kind is None: return
    text = '\n'.join(buf).strip('\n')
    if kind == 'markdown':
        text = '\n'.join(l[2:] if l.startswith('# ') else l.lstrip('#') for l in text.split('\n'))
        cells.append({'cell_type': 'markdown', 'metadata': {}, 'source': text.splitlines(True)})
    else:
        cells.append({'cell_type': 'code', 'metadata': {}, 'execution_count': None, 'outputs': [], 'source': text.splitlines(True)})
for line in open(src).read().split('\n'):
    if line.startswith('# %%'):
        flush(); kind = 'markdown' if '[markdown]' in line else 'code'; buf = []
    else:
        buf.append(line)
flush()
nb = {'cells': cells, 'metadata': {'kernelspec': {'name': 'tslab', 'display_name': 'TypeScript', 'language': 'typescript'},
      'language_info': {'name': 'typescript', 'file_extension': '.ts', 'mimetype': 'text/typescript'}}, 'nbformat': 4, 'nbformat_minor': 5}
for i, c in enumerate(cells):
    c['id'] = f'cell-{i:02d}'
json.dump(nb, open(out, 'w'), indent=1)
