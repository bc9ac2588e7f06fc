;; The Reed-Solomon coding loop in WebAssembly SIMD (docs/ERASURE.md, "Speed").
;;
;; Split-nibble multiplication, the method of ISA-L (gf_vect_mul) and klauspost/reedsolomon:
;; for a coefficient c, c·x = c·(x & 0x0f) ^ c·(x & 0xf0), and each half takes one of 16
;; values, so two 16-byte tables
;;   low[x]  = c·x        (x < 16)
;;   high[x] = c·(x << 4) (x < 16)
;; and two i8x16.swizzle give the products of 16 bytes at once. Everything is byte-wise, so
;; the result does not depend on byte order.
;;
;; Memory (the module's own, grown by src/core/erasure/rs-simd.ts):
;;   [0, 8192)  the tables: 32 bytes per coefficient c at c·32, low then high, written once
;;              by rs-simd.ts from the field's MUL table (gf256.ts), the one definition;
;;   the rest   the coefficients, the input pieces and the output pieces of one call, where
;;              rs-simd.ts puts them.
;;
;; Assembled by scripts/gen-rs-wasm.mjs into rs-simd-wasm.ts; edit this file, then run it.

(module
  (memory (export "memory") 1)

  ;; out[r] = Σ_i coefs[r·inputs + i] · in[i] for r < rows, over `len` bytes.
  ;; Input i is at src + i·len, output r at dst + r·len; len is a multiple of 32. Coefficient
  ;; 0 is skipped, 1 is a plain XOR, and the first term written rather than XORed, so the
  ;; outputs need no clearing (unless every coefficient of a row is 0).
  (func (export "code")
    (param $rows i32) (param $inputs i32) (param $coefs i32)
    (param $src i32) (param $dst i32) (param $len i32)
    (local $r i32) (local $i i32) (local $c i32) (local $c2 i32) (local $j i32)
    (local $out i32) (local $written i32)
    (local.set $r (i32.const 0))
    (block $rows_done
      (loop $each_row
        (br_if $rows_done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $out (i32.add (local.get $dst) (i32.mul (local.get $r) (local.get $len))))
        (local.set $written (i32.const 0))
        (local.set $i (i32.const 0))
        (block $inputs_done
          (loop $each_input
            (br_if $inputs_done (i32.ge_u (local.get $i) (local.get $inputs)))
            (local.set $c (i32.load8_u
              (i32.add (local.get $coefs)
                (i32.add (i32.mul (local.get $r) (local.get $inputs)) (local.get $i)))))
            (block $term_done
              (br_if $term_done (i32.eqz (local.get $c)))
              ;; Two multiplied terms in one pass when the next nonzero coefficient is not 1:
              ;; one load and store of the output for both.
              (if (i32.gt_u (local.get $c) (i32.const 1))
                (then
                  (local.set $j (i32.add (local.get $i) (i32.const 1)))
                  (block $no_partner
                    (loop $find_partner
                      (br_if $no_partner (i32.ge_u (local.get $j) (local.get $inputs)))
                      (local.set $c2 (i32.load8_u
                        (i32.add (local.get $coefs)
                          (i32.add (i32.mul (local.get $r) (local.get $inputs)) (local.get $j)))))
                      (if (i32.eqz (local.get $c2))
                        (then
                          (local.set $j (i32.add (local.get $j) (i32.const 1)))
                          (br $find_partner)))
                      (br_if $no_partner (i32.eq (local.get $c2) (i32.const 1)))
                      (call $mul2
                        (local.get $c)
                        (i32.add (local.get $src) (i32.mul (local.get $i) (local.get $len)))
                        (local.get $c2)
                        (i32.add (local.get $src) (i32.mul (local.get $j) (local.get $len)))
                        (local.get $out) (local.get $len) (local.get $written))
                      (local.set $written (i32.const 1))
                      ;; Both terms done: go on after the partner (the zeros between are skipped).
                      (local.set $i (local.get $j))
                      (br $term_done)))))
              (call $mul1
                (local.get $c)
                (i32.add (local.get $src) (i32.mul (local.get $i) (local.get $len)))
                (local.get $out) (local.get $len) (local.get $written))
              (local.set $written (i32.const 1)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $each_input)))
        (if (i32.eqz (local.get $written))
          (then (memory.fill (local.get $out) (i32.const 0) (local.get $len))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $each_row))))

  ;; out (=|^=) c·in over len bytes (a multiple of 32); c = 1 is a copy or a plain XOR.
  (func $mul1
    (param $c i32) (param $in i32) (param $out i32) (param $len i32) (param $xor i32)
    (local $end i32) (local $lo v128) (local $hi v128) (local $mask v128)
    (local $a v128) (local $b v128)
    (local.set $end (i32.add (local.get $in) (local.get $len)))
    (if (i32.eq (local.get $c) (i32.const 1))
      (then
        (if (i32.eqz (local.get $xor))
          (then
            (memory.copy (local.get $out) (local.get $in) (local.get $len))
            (return)))
        (loop $xor_plain
          (v128.store (local.get $out)
            (v128.xor (v128.load (local.get $out)) (v128.load (local.get $in))))
          (v128.store offset=16 (local.get $out)
            (v128.xor (v128.load offset=16 (local.get $out)) (v128.load offset=16 (local.get $in))))
          (local.set $in (i32.add (local.get $in) (i32.const 32)))
          (local.set $out (i32.add (local.get $out) (i32.const 32)))
          (br_if $xor_plain (i32.lt_u (local.get $in) (local.get $end))))
        (return)))
    (local.set $lo (v128.load (i32.shl (local.get $c) (i32.const 5))))
    (local.set $hi (v128.load offset=16 (i32.shl (local.get $c) (i32.const 5))))
    (local.set $mask (v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15))
    (if (i32.eqz (local.get $xor))
      (then
        (loop $set
          (local.set $a (v128.load (local.get $in)))
          (local.set $b (v128.load offset=16 (local.get $in)))
          (v128.store (local.get $out)
            (v128.xor
              (i8x16.swizzle (local.get $lo) (v128.and (local.get $a) (local.get $mask)))
              (i8x16.swizzle (local.get $hi)
                (v128.and (i16x8.shr_u (local.get $a) (i32.const 4)) (local.get $mask)))))
          (v128.store offset=16 (local.get $out)
            (v128.xor
              (i8x16.swizzle (local.get $lo) (v128.and (local.get $b) (local.get $mask)))
              (i8x16.swizzle (local.get $hi)
                (v128.and (i16x8.shr_u (local.get $b) (i32.const 4)) (local.get $mask)))))
          (local.set $in (i32.add (local.get $in) (i32.const 32)))
          (local.set $out (i32.add (local.get $out) (i32.const 32)))
          (br_if $set (i32.lt_u (local.get $in) (local.get $end))))
        (return)))
    (loop $add
      (local.set $a (v128.load (local.get $in)))
      (local.set $b (v128.load offset=16 (local.get $in)))
      (v128.store (local.get $out)
        (v128.xor (v128.load (local.get $out))
          (v128.xor
            (i8x16.swizzle (local.get $lo) (v128.and (local.get $a) (local.get $mask)))
            (i8x16.swizzle (local.get $hi)
              (v128.and (i16x8.shr_u (local.get $a) (i32.const 4)) (local.get $mask))))))
      (v128.store offset=16 (local.get $out)
        (v128.xor (v128.load offset=16 (local.get $out))
          (v128.xor
            (i8x16.swizzle (local.get $lo) (v128.and (local.get $b) (local.get $mask)))
            (i8x16.swizzle (local.get $hi)
              (v128.and (i16x8.shr_u (local.get $b) (i32.const 4)) (local.get $mask))))))
      (local.set $in (i32.add (local.get $in) (i32.const 32)))
      (local.set $out (i32.add (local.get $out) (i32.const 32)))
      (br_if $add (i32.lt_u (local.get $in) (local.get $end)))))

  ;; out (=|^=) c0·in0 ^ c1·in1 over len bytes (a multiple of 32), for c0, c1 > 1.
  (func $mul2
    (param $c0 i32) (param $in0 i32) (param $c1 i32) (param $in1 i32)
    (param $out i32) (param $len i32) (param $xor i32)
    (local $end i32) (local $lo0 v128) (local $hi0 v128) (local $lo1 v128) (local $hi1 v128)
    (local $mask v128) (local $a v128) (local $b v128) (local $sum v128)
    (local.set $end (i32.add (local.get $in0) (local.get $len)))
    (local.set $lo0 (v128.load (i32.shl (local.get $c0) (i32.const 5))))
    (local.set $hi0 (v128.load offset=16 (i32.shl (local.get $c0) (i32.const 5))))
    (local.set $lo1 (v128.load (i32.shl (local.get $c1) (i32.const 5))))
    (local.set $hi1 (v128.load offset=16 (i32.shl (local.get $c1) (i32.const 5))))
    (local.set $mask (v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15))
    (loop $each
      (local.set $a (v128.load (local.get $in0)))
      (local.set $b (v128.load (local.get $in1)))
      (local.set $sum
        (v128.xor
          (v128.xor
            (i8x16.swizzle (local.get $lo0) (v128.and (local.get $a) (local.get $mask)))
            (i8x16.swizzle (local.get $hi0)
              (v128.and (i16x8.shr_u (local.get $a) (i32.const 4)) (local.get $mask))))
          (v128.xor
            (i8x16.swizzle (local.get $lo1) (v128.and (local.get $b) (local.get $mask)))
            (i8x16.swizzle (local.get $hi1)
              (v128.and (i16x8.shr_u (local.get $b) (i32.const 4)) (local.get $mask))))))
      (if (local.get $xor)
        (then (local.set $sum (v128.xor (local.get $sum) (v128.load (local.get $out))))))
      (v128.store (local.get $out) (local.get $sum))
      (local.set $in0 (i32.add (local.get $in0) (i32.const 16)))
      (local.set $in1 (i32.add (local.get $in1) (i32.const 16)))
      (local.set $out (i32.add (local.get $out) (i32.const 16)))
      (br_if $each (i32.lt_u (local.get $in0) (local.get $end)))))
)
