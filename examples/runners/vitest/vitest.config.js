import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    // Runs once, in Vitest's main process, before any test file.
    globalSetup: './global-setup.js'
  }
})
