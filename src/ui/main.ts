import { mount } from 'svelte';
import App from './App.svelte';
import './app.css';
import { applySetupLink } from './state/setup_link.svelte';

mount(App, { target: document.getElementById('app')! });
// a link's ?model=…&data=…&preset=… choices (state/setup_link.svelte.ts)
void applySetupLink();
