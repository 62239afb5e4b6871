import { ByteLRU } from '../src/lru.js';

describe('ByteLRU', () => {
  test('a deleted entry gives its bytes back: later entries fit without evicting the others', () => {
    const lru = new ByteLRU(10);
    lru.set('a', Buffer.alloc(4));
    lru.set('b', Buffer.alloc(4));
    lru.delete('a');
    lru.delete('missing');
    expect(lru.bytes).toBe(4);
    expect(lru.get('a')).toBeUndefined();
    lru.set('c', Buffer.alloc(6));
    expect(lru.bytes).toBe(10);
    expect(lru.get('b')?.length).toBe(4);
    expect(lru.get('c')?.length).toBe(6);
    // Over the bound again: the least recently used goes first.
    lru.set('d', Buffer.alloc(4));
    expect(lru.get('b')).toBeUndefined();
    expect([lru.get('c')?.length, lru.get('d')?.length, lru.bytes]).toEqual([6, 4, 10]);
  });
});
