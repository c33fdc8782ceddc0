/**
 * Zip files for adapter and recipe downloads and adapter uploads, through
 * fflate (a well-kept zip library) rather than our own PKWARE writer.
 * Names are UTF-8; entries are deflated (level 6) except ones that do not
 * shrink, which fflate stores.
 */
import { strToU8, unzipSync, zipSync } from 'fflate';

export function zip(files: Record<string, string | Uint8Array>): Uint8Array {
  return zipSync(Object.fromEntries(Object.entries(files).map(([name, v]) => [name, typeof v === 'string' ? strToU8(v) : v])), { level: 6 });
}

/** The files of a zip (stored or deflated); folders are left out. */
export async function unzip(b: Uint8Array): Promise<Map<string, Uint8Array>> {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(b);
  } catch (e) {
    throw new Error(`not a readable zip file (${(e as Error).message})`);
  }
  return new Map(Object.entries(files).filter(([name]) => !name.endsWith('/')));
}
