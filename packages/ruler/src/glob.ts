/** File globs as Prometheus' rule_files take them (filepath.Glob): `*`, `?` and `[...]` in any path segment. */
import fs from 'node:fs';
import path from 'node:path';

function segmentRegex(seg: string): RegExp {
  let re = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = seg.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re +=
          '[' +
          seg
            .slice(i + 1, end)
            .replace(/^\^|^!/, '^')
            .replace(/\\/g, '\\\\') +
          ']';
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

const MAGIC = /[*?[]/;

/** Matching paths, sorted; a pattern without glob characters is returned if the file exists. */
export function glob(pattern: string): string[] {
  if (!MAGIC.test(pattern)) return fs.existsSync(pattern) ? [pattern] : [];
  const abs = path.isAbsolute(pattern);
  const segs = pattern.split('/').filter((s, i) => s !== '' || i === 0);
  let current = [abs ? '/' : ''];
  for (const seg of segs.slice(abs ? 1 : 0)) {
    const next: string[] = [];
    for (const dir of current) {
      if (!MAGIC.test(seg)) {
        const p = dir ? path.join(dir, seg) : seg;
        if (fs.existsSync(p)) next.push(p);
        continue;
      }
      let entries: string[];
      try {
        entries = fs.readdirSync(dir || '.');
      } catch {
        continue;
      }
      const re = segmentRegex(seg);
      for (const e of entries) if (re.test(e) && !(e.startsWith('.') && !seg.startsWith('.'))) next.push(dir ? path.join(dir, e) : e);
    }
    current = next;
  }
  return current.sort();
}
