/**
 * The Python that tests run stdlib-only scripts with (train_peft.py --plan,
 * compare_losses.py): Debian's /usr/bin/python3 where it exists, else the
 * first python3 on PATH. Tests never need torch or transformers.
 */
import fs from 'node:fs';

export const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
