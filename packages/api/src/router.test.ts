import { Router } from './router.js';

describe('router', () => {
  const r = new Router(['', '/prometheus']);
  const h = () => undefined;
  r.add(['GET', 'POST'], '/api/v1/query', h);
  r.add('GET', '/api/v1/label/:name/values', h);

  test.each([
    ['GET', '/api/v1/query', '/api/v1/query', {}],
    ['POST', '/prometheus/api/v1/query', '/api/v1/query', {}],
    ['GET', '/api/v1/label/job/values', '/api/v1/label/:name/values', { name: 'job' }],
    ['GET', '/prometheus/api/v1/label/a%2Fb/values', '/api/v1/label/:name/values', { name: 'a/b' }],
  ])('%s %s', (method, path, name, params) => {
    const m = r.match(method, path);
    expect(m).not.toBe('method-not-allowed');
    expect(m && m !== 'method-not-allowed' && { name: m.name, params: m.params }).toEqual({ name, params });
  });

  test('unknown paths and wrong methods are told apart', () => {
    expect(r.match('GET', '/nope')).toBeUndefined();
    expect(r.match('DELETE', '/api/v1/query')).toBe('method-not-allowed');
    expect(r.match('POST', '/api/v1/label/job/values')).toBe('method-not-allowed');
  });
});
