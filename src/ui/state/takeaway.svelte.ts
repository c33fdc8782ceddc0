/**
 * Taking the work away: the adapter in PEFT format (the run the user picks,
 * written from its saved checkpoint, or the adapter on the model now), an
 * adapter import, the run recipe.
 */
import { checkpointPeftFiles, type PeftFiles } from '../../engine/peft_files';
import type { LoraConfig } from '../../engine/lora';
import { readRun, readRunData } from '../../worker/db';
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
  /** which adapter Download exports: a saved run's id, or 'current' (the adapter on the model: training's or an imported one); null: the newest saved run */
  pick: null as number | 'current' | null,
});

const slug = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-|-$/g, '') || 'model';

/** A saved run's adapter as PEFT files, from its checkpoint in IndexedDB (as saved: its last checkpoint), with the file name. */
export async function runAdapterFiles(id: number): Promise<{ name: string; files: PeftFiles }> {
  const [record, data] = await Promise.all([readRun(id), readRunData(id)]);
  if (!record) throw new Error(`There is no run ${id}.`);
  const ckpt = data?.checkpoint as { config: LoraConfig & Record<string, unknown>; adapter: Record<string, { a: Float32Array; b: Float32Array }> } | null | undefined;
  if (!data || !ckpt?.adapter) throw new Error(`${record.name} has no saved adapter yet (it is saved at its first checkpoint).`);
  const c = ckpt.config;
  const config: LoraConfig = { rank: c.rank, alpha: c.alpha, dropout: c.dropout, rslora: c.rslora, targets: c.targets };
  return { name: `lora-${slug(record.name)}.zip`, files: checkpointPeftFiles({ config, adapter: ckpt.adapter }, { baseModel: record.modelName, template: data.template }) };
}

/** Downloads the picked adapter: a saved run's (its checkpoint, whatever is on the model) or the one on the model now. */
export async function exportAdapter(pick: number | 'current'): Promise<void> {
  takeaway.error = null;
  takeaway.busy = 'Exporting the adapter…';
  try {
    let name: string;
    let files: PeftFiles;
    if (pick === 'current') {
      const r = await engine().call({ type: 'export-adapter' }, 'adapter-files');
      name = `lora-${slug(models.loaded?.name ?? 'model')}.zip`;
      files = { 'adapter_config.json': r.config, 'adapter_model.safetensors': r.safetensors };
    } else ({ name, files } = await runAdapterFiles(pick));
    const config = files['adapter_config.json'];
    const safetensors = files['adapter_model.safetensors'];
    download(name, zip({ 'adapter_config.json': config, 'adapter_model.safetensors': safetensors }), 'application/zip');
    if (takeaway.files) Object.values(takeaway.files).forEach((u) => URL.revokeObjectURL(u));
    takeaway.files = {
      config: URL.createObjectURL(new Blob([config], { type: 'application/json' })),
      safetensors: URL.createObjectURL(new Blob([safetensors as BlobPart])),
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
