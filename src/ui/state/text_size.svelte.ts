/**
 * "Large text" for a projector: one flag, kept in localStorage, shown as the
 * `large-text` class on <html> (app.css scales the root font size, so every
 * rem/em on the page grows). Canvas charts (LossChart) read `textSize.large`
 * to redraw their axis text at the new size.
 */
const KEY = 'lima-large-text';

function stored(): boolean {
  try {
    return localStorage.getItem(KEY) === '1';
  } catch {
    return false; // storage blocked: the toggle still works for this visit
  }
}

export const textSize = $state({ large: typeof localStorage === 'undefined' ? false : stored() });

export function setLargeText(large: boolean): void {
  textSize.large = large;
  document.documentElement.classList.toggle('large-text', large);
  try {
    localStorage.setItem(KEY, large ? '1' : '0');
  } catch {
    // not kept across visits; nothing else to do
  }
}

/** The root font size in CSS pixels (16 unless Large text or a wide screen changed it). */
export function rootFontPx(): number {
  return parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
}
