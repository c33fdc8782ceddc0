/** Taking the work away: the adapter in PEFT format, an adapter import, the run recipe. */
import type { TrainSettings } from '../../worker/protocol';
import { download } from '../lib/format';
import { unzip, zip } from '../lib/zip';
import { engine, onPush } from './app.svelte';
import { resolveRunSettings } from './memory.svelte';
import { models } from './model.svelte';
import { train } from './train.svelte';

export const takeaway = $state({
  busy: null as string | null,
  error: null as string | null,
  notice: null as string | null,
  /** object URLs of the last exported adapter's two files, to download one by one */
  files: null as { config: string; safetensors: string } | null,
  imported: null as { rank: number; params: number } | null,
});

const slug = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-|-$/g, '') || 'model';

export async function exportAdapter(): Promise<void> {
  takeaway.error = null;
  takeaway.busy = 'Exporting the adapter…';
  try {
    const r = await engine().call({ type: 'export-adapter' }, 'adapter-files');
    download(`lora-${slug(models.loaded?.name ?? 'model')}.zip`, zip({ 'adapter_config.json': r.config, 'adapter_model.safetensors': r.safetensors }), 'application/zip');
    if (takeaway.files) Object.values(takeaway.files).forEach((u) => URL.revokeObjectURL(u));
    takeaway.files = {
      config: URL.createObjectURL(new Blob([r.config], { type: 'application/json' })),
      safetensors: URL.createObjectURL(new Blob([r.safetensors as BlobPart])),
    };
  } catch (e) {
    takeaway.error = (e as Error).message;
  } finally {
    takeaway.busy = null;
  }
}

/** Accepts adapter_config.json + adapter_model.safetensors, or a zip holding them. */
export async function importAdapter(list: File[]): Promise<void> {
  takeaway.error = null;
  takeaway.notice = null;
  try {
    const files = new Map<string, Uint8Array>();
    for (const f of list) {
      const bytes = new Uint8Array(await f.arrayBuffer());
      const isZip = bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04; // "PK\3\4"
      if (isZip) for (const [n, b] of await unzip(bytes)) files.set(n.split('/').pop()!, b);
      else files.set(f.name, bytes);
    }
    const config = files.get('adapter_config.json');
    const st = [...files.entries()].find(([n]) => n.endsWith('.safetensors'))?.[1];
    if (!config || !st) throw new Error('An adapter needs adapter_config.json and adapter_model.safetensors (or a zip holding both).');
    takeaway.busy = 'Importing the adapter…';
    const r = await engine().call({ type: 'import-adapter', config: new TextDecoder().decode(config), safetensors: st }, 'adapter-imported', { transfer: [st.buffer as ArrayBuffer] });
    takeaway.imported = { rank: r.rank, params: r.params };
    takeaway.notice = `Imported a rank-${r.rank} adapter (${r.params.toLocaleString()} parameters). Compare it with the base model above.`;
  } catch (e) {
    takeaway.error = (e as Error).message;
  } finally {
    takeaway.busy = null;
  }
}

export async function exportRecipe(): Promise<void> {
  takeaway.error = null;
  takeaway.busy = 'Writing the recipe…';
  try {
    const r = await engine().call({ type: 'export-recipe', settings: resolveRunSettings($state.snapshot(train.settings) as TrainSettings) }, 'recipe');
    download(`recipe-${slug(models.loaded?.name ?? 'model')}.zip`, zip(r.files), 'application/zip');
  } catch (e) {
    takeaway.error = (e as Error).message;
  } finally {
    takeaway.busy = null;
  }
}

// a run started or restored puts its own adapter on the model, and the worker frees an imported one
onPush((e) => {
  if (e.type === 'train-history') takeaway.imported = null;
});
