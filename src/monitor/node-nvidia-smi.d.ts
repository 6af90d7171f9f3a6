/** Types for node-nvidia-smi 1.0 (it ships none): runs `nvidia-smi -q -x` and parses it with xml2js. */
declare module 'node-nvidia-smi' {
  /**
   * Calls back with the parsed `nvidia_smi_log` document (xml2js, `explicitArray: false`: a lone child is an
   * object, repeated children an array), or with the exec error / stderr text.
   */
  function nvidiaSmi(callback: (error: unknown, data?: unknown) => void): void;
  export default nvidiaSmi;
}
