// What the join page and the room page must do alike with audio, because the latency
// measured on one is used on the other: the same AudioContext settings and the same
// microphone settings. Also the constants of the timeline.

/** The timeline's and Opus's rate; positions on the wire are in these samples. */
export const WIRE_RATE = 48000;
/**
 * Opus delays its audio by 312 samples (6.5 ms) per encode and decode, measured with
 * WebCodecs in Chromium. What a singer hears went through one (the server's mix
 * encoder) and their voice goes through another (their encoder, the server's decoder),
 * so the voice is stamped 2 × 312 samples earlier to land under what they sang along to.
 */
export const CODEC_DELAY = 2 * 312;

/** No processing that would change the timing or the level the calibration measured. */
export const MIC_CONSTRAINTS = {
  audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false, channelCount: 1 },
};

/**
 * An AudioContext at 48 kHz where the browser allows it (no resampling in the worker),
 * else at the device's rate. `playback` latency asks for larger buffers: the choir
 * hides latency by design, and glitches cost more than milliseconds here.
 */
export function openContext() {
  try {
    return new AudioContext({ latencyHint: 'playback', sampleRate: WIRE_RATE });
  } catch {
    return new AudioContext({ latencyHint: 'playback' });
  }
}

/** The microphone, or an Error with `name` NotAllowedError / NotFoundError / …. */
export async function openMic() {
  if (!navigator.mediaDevices?.getUserMedia) {
    const e = new Error('getUserMedia is not available');
    e.name = 'NotSupportedError';
    throw e;
  }
  return navigator.mediaDevices.getUserMedia(MIC_CONSTRAINTS);
}

/** Which message explains a microphone failure (see choir-mic-* messages). */
export function micProblem(error) {
  switch (error?.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'mic-denied';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'mic-missing';
    case 'NotSupportedError':
      return 'mic-unsupported';
    default:
      return 'mic-failed';
  }
}

/** Whether this browser has what the room needs (WebCodecs and AudioWorklet). */
export function browserSupported() {
  return typeof AudioEncoder === 'function' && typeof AudioDecoder === 'function'
    && typeof AudioWorkletNode === 'function' && typeof WebSocket === 'function';
}

export const stopStream = (stream) => stream?.getTracks().forEach((t) => t.stop());
