// ESLint (flat config): the recommended JavaScript rules and typescript-eslint's type-aware
// recommended rules; Prettier owns the layout, so no stylistic rules here.
import js from "@eslint/js";
import { defineConfig } from "eslint/config";
import globals from "globals";
import tseslint from "typescript-eslint";

export default defineConfig(
  // types.ts is generated from the Python message structs.
  { ignores: ["dist/", "node_modules/", "src/types.ts"] },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: globals.browser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
  },
  {
    // The build's config files run in Node, outside tsconfig's `src`: no type-aware rules.
    files: ["eslint.config.js", "vite.config.ts"],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: globals.node },
  },
);
