/** Types for the part of xml2js 0.6 used here (it ships none): nvidia-smi's XML to plain objects. */
declare module 'xml2js' {
  /**
   * Parses `xml`; with `explicitArray: false` a lone child is an object and repeated children an array, with
   * `trim` text is trimmed.
   */
  export function parseString(
    xml: string,
    options: { explicitArray?: boolean; trim?: boolean },
    callback: (error: Error | null, result: unknown) => void,
  ): void;
}
