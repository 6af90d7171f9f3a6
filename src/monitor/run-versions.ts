import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Versions that decide a run's output, for the start log line and the extended metadata. */
export interface RunVersions {
  mbppStream: string;
  node: string;
  platform: string;
  /** Installed versions of the libraries that shape the dataset; absent when one cannot be found. */
  packages: Record<string, string>;
}

const VERSIONED_PACKAGES = ['onnxruntime-node', '@huggingface/tokenizers', 'apache-arrow', 'parquet-wasm', 'rxjs'];

export function collectVersions(): RunVersions {
  // src/monitor and dist/monitor are both two levels below the package root.
  const ownPackage = readPackageJson(fileURLToPath(new URL('../../package.json', import.meta.url)));
  const packages: Record<string, string> = {};
  for (const name of VERSIONED_PACKAGES) {
    const version = installedVersion(name);
    if (version) packages[name] = version;
  }
  return {
    mbppStream: ownPackage?.version ?? 'unknown',
    node: process.versions.node,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    packages,
  };
}

/**
 * The version of an installed package, found by resolving its entry point and walking up to its package.json
 * (many packages do not export `./package.json`).
 */
export function installedVersion(name: string): string | undefined {
  let entry: string;
  try {
    entry = fileURLToPath(import.meta.resolve(name));
  } catch {
    return undefined;
  }
  for (let dir = path.dirname(entry); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const manifest = readPackageJson(path.join(dir, 'package.json'));
    if (manifest?.name === name) return manifest.version;
  }
  return undefined;
}

function readPackageJson(file: string): { name?: string; version?: string } | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
  } catch {
    return undefined;
  }
}
