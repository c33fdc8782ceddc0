/**
 * The page's zip wrapper over fflate: what it writes reads back (names in
 * UTF-8, text and binary), a zip deflated by another writer (fflate at level
 * 9 with a folder entry) reads, and a file that is not a zip says so.
 */
import { zipSync, strToU8 } from 'fflate';
import { describe, expect, it } from 'vitest';
import { unzip, zip } from '../../src/ui/lib/zip';

describe('zip', () => {
  it('round-trips text and binary entries', async () => {
    const bin = new Uint8Array(5000).map((_, i) => (i * 37) & 255);
    const files = await unzip(zip({ 'adapter_config.json': '{"r": 8, "name": "Grüße"}', 'adapter_model.safetensors': bin }));
    expect([...files.keys()].sort()).toEqual(['adapter_config.json', 'adapter_model.safetensors']);
    expect(new TextDecoder().decode(files.get('adapter_config.json'))).toBe('{"r": 8, "name": "Grüße"}');
    expect(files.get('adapter_model.safetensors')).toEqual(bin);
  });

  it('reads deflated entries and leaves folders out', async () => {
    const z = zipSync({ 'run/': {}, 'run/adapter_config.json': [strToU8('x'.repeat(1000)), { level: 9 }] });
    const files = await unzip(z);
    expect([...files.keys()]).toEqual(['run/adapter_config.json']);
    expect(files.get('run/adapter_config.json')!.length).toBe(1000);
  });

  it('says when a file is not a zip', async () => {
    await expect(unzip(strToU8('{"not": "a zip"}'))).rejects.toThrow(/not a readable zip file/);
  });
});
