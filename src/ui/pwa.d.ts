// Types of vite-plugin-pwa's virtual:pwa-register (the service worker registration, UpdateBanner.svelte).
/// <reference types="vite-plugin-pwa/vanillajs" />
