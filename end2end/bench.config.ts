// Browser benchmarks (not part of the test run): `cargo xtask bench ui`.
import base from "./playwright.config";
import { defineConfig } from "@playwright/test";

export default defineConfig({ ...base, testDir: "./bench", timeout: 300_000 });
