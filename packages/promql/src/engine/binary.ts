/** Binary operators: scalar/vector arithmetic and comparison, vector matching, set operators. */
import {
  CounterResetHint,
  IncompatibleSchemaError,
  Labels,
  LabelsBuilder,
  METRIC_NAME,
  StrataError,
  type FloatHistogram,
} from '@strata/model';
import type { BinaryExpr, BinaryOp, VectorMatching } from '../ast.js';
import type { Evaluator } from './evaluator.js';
import { histogramAt, NAME_LABELS, newStepSeries, setHistogram, type StepSeries, type Value } from './values.js';

/**
 * One operation where at least one side is a histogram (Prometheus' rules): histograms add and
 * subtract, scale by a float, compare for (in)equality; anything else drops the sample with an
 * info annotation. `h` undefined with keep: the float `v` is the result.
 */
function histogramElemOp(
  ev: Evaluator,
  e: BinaryExpr,
  l: number,
  r: number,
  hl: FloatHistogram | undefined,
  hr: FloatHistogram | undefined,
): { keep: boolean; v: number; h?: FloatHistogram; dropped?: true } {
  const pos = ev.ctx.pos(e.pos);
  const op = e.op;
  // Only histograms can be trimmed: a float on the left of </ or >/ is dropped (below).
  const incompatible = () => {
    ev.ctx.infos.add(
      `PromQL info: incompatible sample types encountered for binary operator ${JSON.stringify(op)}: ${hl ? 'histogram' : 'float'} ${op} ${hr ? 'histogram' : 'float'} ${pos}`,
    );
    return { keep: false, v: 0, dropped: true as const };
  };
  if (!hl) {
    if (op === '*' && hr) return { keep: true, v: 0, h: hr.copy().mul(l).compact() };
    return incompatible();
  }
  if (!hr) {
    if (op === '*') return { keep: true, v: 0, h: hl.copy().mul(r).compact() };
    if (op === '</' || op === '>/') return { keep: true, v: 0, h: hl.copy().trimBuckets(r, op === '</') };
    if (op === '/') return { keep: true, v: 0, h: hl.copy().div(r).compact() };
    return incompatible();
  }
  if (op === '+' || op === '-') {
    const res = hl.copy();
    let c;
    try {
      c = op === '+' ? res.add(hr) : res.sub(hr);
    } catch (err) {
      if (!(err instanceof IncompatibleSchemaError)) throw err;
      ev.ctx.warnings.add(`PromQL warning: incompatible bucket layout encountered for binary operator ${op} ${pos}`);
      return { keep: false, v: 0, dropped: true };
    }
    const what = op === '+' ? 'addition' : 'subtraction';
    if (op === '-') res.counterResetHint = CounterResetHint.Gauge;
    if (c.counterResetCollision) ev.ctx.warnings.add(`PromQL warning: conflicting counter resets during histogram ${what} ${pos}`);
    if (c.customBoundsReconciled) ev.ctx.infos.add(`PromQL info: mismatched custom buckets were reconciled during ${what} ${pos}`);
    return { keep: true, v: 0, h: res.compact() };
  }
  if (op === '==') return { keep: hl.equals(hr), v: 0, h: hl };
  if (op === '!=') return { keep: !hl.equals(hr), v: 0, h: hl };
  return incompatible();
}

const COMPARISON = new Set<BinaryOp>(['==', '!=', '>', '<', '>=', '<=']);
const TRIM = new Set<BinaryOp>(['</', '>/']);

export function arith(op: BinaryOp, a: number, b: number): number {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return a / b;
    case '%':
      return a % b;
    case '^':
      return Math.pow(a, b);
    case 'atan2':
      return Math.atan2(a, b);
    case '==':
      return a === b ? 1 : 0;
    case '!=':
      return a !== b ? 1 : 0;
    case '>':
      return a > b ? 1 : 0;
    case '<':
      return a < b ? 1 : 0;
    case '>=':
      return a >= b ? 1 : 0;
    case '<=':
      return a <= b ? 1 : 0;
    default:
      throw new StrataError('query-execution', `operator ${op} not allowed here`);
  }
}

export async function evalBinary(ev: Evaluator, e: BinaryExpr): Promise<Value> {
  const lhs = await ev.eval(e.lhs);
  const rhs = await ev.eval(e.rhs);
  const isCmp = COMPARISON.has(e.op);
  if (lhs.type === 'scalar' && rhs.type === 'scalar') {
    const out = new Float64Array(ev.n);
    for (let i = 0; i < ev.n; i++) out[i] = arith(e.op, lhs.values[i], rhs.values[i]);
    return { type: 'scalar', values: out };
  }
  if (lhs.type === 'vector' && rhs.type === 'scalar') return vectorScalar(ev, e, lhs.series, rhs.values, false, isCmp);
  if (lhs.type === 'scalar' && rhs.type === 'vector') return vectorScalar(ev, e, rhs.series, lhs.values, true, isCmp);
  if (lhs.type === 'vector' && rhs.type === 'vector') {
    const m = e.matching ?? { card: 'one-to-one', matchingLabels: [], on: false, include: [] };
    if (e.op === 'and' || e.op === 'or' || e.op === 'unless') return setOp(ev, e.op, lhs.series, rhs.series, m);
    return vectorVector(ev, e, lhs.series, rhs.series, m, isCmp);
  }
  throw new StrataError('query-execution', `binary expression between ${lhs.type} and ${rhs.type} is not supported`);
}

function vectorScalar(ev: Evaluator, e: BinaryExpr, vec: StepSeries[], sc: Float64Array, swap: boolean, isCmp: boolean): Value {
  const out: StepSeries[] = [];
  for (const s of vec) {
    const trim = TRIM.has(e.op);
    const r = newStepSeries(s.labels, ev.n, s.dropName || (!isCmp && !trim) || e.returnBool);
    let any = false;
    for (let i = 0; i < ev.n; i++) {
      if (!s.present[i]) continue;
      const h = histogramAt(s, i);
      if (h || trim) {
        const res = swap ? histogramElemOp(ev, e, sc[i], 0, undefined, h) : histogramElemOp(ev, e, 0, sc[i], h, undefined);
        if (res.dropped) continue; // an operation the sample types do not allow: no result, bool or not
        if (e.returnBool) {
          r.values[i] = res.keep ? 1 : 0;
          r.present[i] = 1;
        } else if (res.keep) {
          if (res.h) setHistogram(r, i, res.h);
          else r.values[i] = res.v;
          r.present[i] = 1;
        } else continue;
        any = true;
        continue;
      }
      const l = swap ? sc[i] : s.values[i];
      const rr = swap ? s.values[i] : sc[i];
      const v = arith(e.op, l, rr);
      if (isCmp && !e.returnBool) {
        if (v === 0) continue;
        r.values[i] = s.values[i]; // the vector's value, whichever side it is on
      } else r.values[i] = v;
      r.present[i] = 1;
      any = true;
    }
    if (any) out.push(r);
  }
  return { type: 'vector', series: out };
}

function signature(labels: Labels, m: VectorMatching): string {
  return matchLabels(labels, m).key();
}

function setOp(ev: Evaluator, op: 'and' | 'or' | 'unless', lhs: StepSeries[], rhs: StepSeries[], m: VectorMatching): Value {
  const lsig = lhs.map((s) => signature(s.labels, m));
  const rsig = rhs.map((s) => signature(s.labels, m));
  const out: StepSeries[] = [];
  const lhsOut = lhs.map((s) => newStepSeries(s.labels, ev.n, s.dropName));
  const rhsOut = op === 'or' ? rhs.map((s) => newStepSeries(s.labels, ev.n, s.dropName)) : [];
  for (let i = 0; i < ev.n; i++) {
    const rset = new Set<string>();
    for (let j = 0; j < rhs.length; j++) if (rhs[j].present[i]) rset.add(rsig[j]);
    const lset = new Set<string>();
    for (let j = 0; j < lhs.length; j++) {
      if (!lhs[j].present[i]) continue;
      lset.add(lsig[j]);
      const keep = op === 'or' || (op === 'and' ? rset.has(lsig[j]) : !rset.has(lsig[j]));
      if (keep) {
        lhsOut[j].values[i] = lhs[j].values[i];
        lhsOut[j].present[i] = 1;
        const h = histogramAt(lhs[j], i);
        if (h) setHistogram(lhsOut[j], i, h);
      }
    }
    if (op === 'or') {
      for (let j = 0; j < rhs.length; j++) {
        if (!rhs[j].present[i] || lset.has(rsig[j])) continue;
        rhsOut[j].values[i] = rhs[j].values[i];
        rhsOut[j].present[i] = 1;
        const h = histogramAt(rhs[j], i);
        if (h) setHistogram(rhsOut[j], i, h);
      }
    }
  }
  for (const s of [...lhsOut, ...rhsOut]) if (s.present.some((x) => x)) out.push(s);
  return { type: 'vector', series: out };
}

function vectorVector(ev: Evaluator, e: BinaryExpr, lhs: StepSeries[], rhs: StepSeries[], m: VectorMatching, isCmp: boolean): Value {
  // group_right: the right side is the "many" side; swap so "many" is always first.
  const swapped = m.card === 'one-to-many';
  const many = swapped ? rhs : lhs;
  const one = swapped ? lhs : rhs;
  const manySig = many.map((s) => signature(s.labels, m));
  const oneSig = one.map((s) => signature(s.labels, m));
  // As in Prometheus, fill_right fills the "one" side and fill_left the "many" side, after the
  // swap of group_right.
  const fillOne = m.fillRight ?? null;
  const fillMany = m.fillLeft ?? null;
  const dropName = (!isCmp && !TRIM.has(e.op)) || e.returnBool;
  const results = new Map<string, StepSeries>();
  const pairLabels = new Map<string, Labels>();
  /** `key` names the pair; a missing side filled by a value stands as the other side's matching labels. */
  const resultLabels = (key: string, manyLabels: Labels, oneLabels: Labels): Labels => {
    let l = pairLabels.get(key);
    if (!l) {
      const b = new LabelsBuilder(manyLabels);
      if (dropName) b.del(...NAME_LABELS);
      if (m.card === 'one-to-one') {
        if (m.on) {
          const keep = new Set(m.matchingLabels);
          for (const [name] of manyLabels.toMap()) if (!keep.has(name)) b.del(name);
        } else b.del(...m.matchingLabels);
      }
      for (const name of m.include) b.set(name, oneLabels.get(name));
      l = b.labels();
      pairLabels.set(key, l);
    }
    return l;
  };
  const filledMany = fillMany === null ? [] : one.map((s) => matchLabels(s.labels, m));
  const filledOne = fillOne === null ? [] : many.map((s) => matchLabels(s.labels, m));
  /** One result sample at step i of a "many" and a "one" sample (a missing histogram: a float). */
  const apply = (
    i: number,
    key: string,
    manyLabels: Labels,
    oneLabels: Labels,
    lv: number,
    rv: number,
    hm?: FloatHistogram,
    ho?: FloatHistogram,
  ) => {
    let l = lv;
    let r = rv;
    if (swapped) [l, r] = [r, l];
    let resultH: FloatHistogram | undefined;
    let v: number;
    let hl = hm;
    let hr = ho;
    if (hl || hr || TRIM.has(e.op)) {
      if (swapped) [hl, hr] = [hr, hl];
      const res = histogramElemOp(ev, e, l, r, hl, hr);
      if (res.dropped) return;
      if (e.returnBool) v = res.keep ? 1 : 0;
      else {
        if (!res.keep) return;
        v = res.v;
        resultH = res.h;
      }
    } else {
      v = arith(e.op, l, r);
      if (isCmp && !e.returnBool) {
        if (v === 0) return;
        v = l; // comparisons filter and keep the left-hand value
      }
    }
    const labels = resultLabels(key, manyLabels, oneLabels);
    const k = labels.key();
    let out = results.get(k);
    if (!out) {
      out = newStepSeries(labels, ev.n); // names already dropped from the result labels
      results.set(k, out);
    }
    if (out.present[i]) {
      throw new StrataError('query-execution', `multiple matches for labels: grouping labels must ensure unique results`);
    }
    out.values[i] = v;
    out.present[i] = 1;
    if (resultH) setHistogram(out, i, resultH);
  };
  for (let i = 0; i < ev.n; i++) {
    ev.ctx.checkCancelled();
    const oneBySig = new Map<string, number>();
    for (let j = 0; j < one.length; j++) {
      if (!one[j].present[i]) continue;
      if (oneBySig.has(oneSig[j])) {
        const side = swapped ? 'left' : 'right';
        throw new StrataError(
          'query-execution',
          `found duplicate series for the match group ${fmtSig(one[j].labels, m)} on the ${side} hand-side of the operation: [${rawLabels(one[oneBySig.get(oneSig[j])!].labels)}, ${rawLabels(one[j].labels)}];many-to-many matching not allowed: matching labels must be unique on one side`,
        );
      }
      oneBySig.set(oneSig[j], j);
    }
    const matchedOne = new Set<string>();
    for (let j = 0; j < many.length; j++) {
      if (!many[j].present[i]) continue;
      const oi = oneBySig.get(manySig[j]);
      if (oi === undefined && fillOne === null) continue;
      if (m.card === 'one-to-one' && matchedOne.has(manySig[j])) {
        throw new StrataError(
          'query-execution',
          `multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)`,
        );
      }
      // Remembered for the uniqueness check of one-to-one matching and for fill_left's unmatched side.
      if (m.card === 'one-to-one' || fillMany !== null) matchedOne.add(manySig[j]);
      if (oi === undefined) apply(i, `${j},`, many[j].labels, filledOne[j], many[j].values[i], fillOne!, histogramAt(many[j], i));
      else
        apply(
          i,
          `${j},${oi}`,
          many[j].labels,
          one[oi].labels,
          many[j].values[i],
          one[oi].values[i],
          histogramAt(many[j], i),
          histogramAt(one[oi], i),
        );
    }
    if (fillMany === null) continue;
    for (let j = 0; j < one.length; j++) {
      if (!one[j].present[i] || matchedOne.has(oneSig[j])) continue;
      apply(i, `,${j}`, filledMany[j], one[j].labels, fillMany, one[j].values[i], undefined, histogramAt(one[j], i));
    }
  }
  return { type: 'vector', series: [...results.values()] };
}

/** The labels a series is matched on (Prometheus' MatchLabels): the on() labels, or all but the ignored ones and the name. */
function matchLabels(labels: Labels, m: VectorMatching): Labels {
  return m.on ? labels.keep(...m.matchingLabels) : labels.without(METRIC_NAME, ...m.matchingLabels);
}

function fmtSig(labels: Labels, m: VectorMatching): string {
  const l = matchLabels(labels, m);
  return `{${l.pairs.reduce<string[]>((acc, x, i) => (i % 2 === 0 ? [...acc, `${x}="${l.pairs[i + 1]}"`] : acc), []).join(', ')}}`;
}

/** Labels as {name="value", ...} with __name__ spelled out, as Prometheus prints them in errors. */
function rawLabels(l: Labels): string {
  const parts: string[] = [];
  l.forEach((n, v) => parts.push(`${n}=${JSON.stringify(v)}`));
  return `{${parts.join(', ')}}`;
}
