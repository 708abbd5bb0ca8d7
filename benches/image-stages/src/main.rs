//! One 2400×1600 JPEG, one core: each stage of making its 480/960/1600 px variants, timed with
//! the alternatives sopixi considered. Prints the median of 7 runs per line.
//!
//!     cargo run --release -- PHOTO.jpg
use std::time::Instant;

use image::DynamicImage;

fn median(mut f: impl FnMut()) -> f64 {
    let mut t: Vec<f64> = (0..7)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    t.sort_by(|a, b| a.partial_cmp(b).unwrap());
    t[3]
}

fn fir(img: &DynamicImage, w: u32, alg: fast_image_resize::ResizeAlg) -> DynamicImage {
    let h = (img.height() as f64 * w as f64 / img.width() as f64).round() as u32;
    let mut dst = DynamicImage::new(w, h, img.color());
    fast_image_resize::Resizer::new()
        .resize(img, &mut dst, &fast_image_resize::ResizeOptions::new().resize_alg(alg))
        .unwrap();
    dst
}

fn webp(img: &DynamicImage, method: i32) -> usize {
    let rgb = img.to_rgb8();
    let enc = webp::Encoder::from_rgb(rgb.as_raw(), img.width(), img.height());
    let mut c = webp::WebPConfig::new().unwrap();
    c.quality = 80.0;
    c.method = method;
    enc.encode_advanced(&c).unwrap().len()
}

fn main() {
    let path = std::env::args().nth(1).expect("a JPEG path");
    let bytes = std::fs::read(&path).unwrap();
    let img = image::load_from_memory(&bytes).unwrap();
    println!("{path}: {}x{}, {} KB, one core, median of 7 (ms)", img.width(), img.height(), bytes.len() / 1024);
    let lanczos = fast_image_resize::ResizeAlg::Convolution(fast_image_resize::FilterType::Lanczos3);
    println!("decode, image (zune-jpeg)             {:8.1}", median(|| drop(image::load_from_memory(&bytes).unwrap())));
    println!("decode, jpeg-decoder full size        {:8.1}", median(|| {
        drop(jpeg_decoder::Decoder::new(&bytes[..]).decode().unwrap())
    }));
    for (label, w) in [("1/2 (DCT scaling)", 1200u16), ("1/4 (DCT scaling)", 600)] {
        println!("decode, jpeg-decoder at {label:<14}{:8.1}", median(|| {
            let mut d = jpeg_decoder::Decoder::new(&bytes[..]);
            d.scale(w, w).unwrap();
            drop(d.decode().unwrap())
        }));
    }
    for w in [480u32, 960, 1600] {
        let h = (1600.0 * w as f64 / 2400.0) as u32;
        println!("resize to {w:4}, image Lanczos3          {:8.1}", median(|| {
            drop(img.resize_exact(w, h, image::imageops::FilterType::Lanczos3))
        }));
        println!("resize to {w:4}, fast_image_resize L3    {:8.1}", median(|| drop(fir(&img, w, lanczos))));
    }
    for w in [480u32, 960, 1600] {
        let small = fir(&img, w, lanczos);
        let mut size = 0;
        let t = median(|| {
            let mut out = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80).encode_image(&small).unwrap();
            size = out.len();
        });
        println!("encode {w:4} JPEG q80, image             {t:8.1}   ({} KB)", size / 1024);
        let rgb = small.to_rgb8();
        let mut size = 0;
        let t = median(|| {
            let mut out = Vec::new();
            jpeg_encoder::Encoder::new(&mut out, 80)
                .encode(rgb.as_raw(), w as u16, rgb.height() as u16, jpeg_encoder::ColorType::Rgb)
                .unwrap();
            size = out.len();
        });
        println!("encode {w:4} JPEG q80, jpeg-encoder simd  {t:8.1}   ({} KB)", size / 1024);
        for m in [4, 2, 0] {
            let mut size = 0;
            let t = median(|| size = webp(&small, m));
            println!("encode {w:4} WebP q80 method {m}, libwebp {t:8.1}   ({} KB)", size / 1024);
        }
    }
}
