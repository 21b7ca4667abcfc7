/* upconv — C ABI. A thin, exception-free wrapper over the C++ API (upconv/upconv.hpp) for
 * callers in C or any language with a C FFI.
 *
 * Conventions:
 *  - Every fallible function returns an upconv_status; UPCONV_OK (0) is success. On failure,
 *    upconv_last_error_message() returns a message naming the parameter and value, valid on the
 *    calling thread until its next failing upconv call.
 *  - Handles (upconv_context, upconv_plan) are opaque; destroy each with its _destroy function.
 *    A plan keeps what it needs of its context alive, so a context may be destroyed first.
 *  - Tensors are dense C-order (NCHW / NCL) float arrays described by a dims array of int64.
 *  - Each params struct has an upconv_*_params_default() initializer with PyTorch's defaults;
 *    start from it and change the fields you need (new fields may be added at the end).
 *  - No global state; distinct plans may run concurrently; one plan runs on one thread at a time.
 *  - Enums are 32-bit (each has a *_MAX_ENUM sentinel, as in Vulkan); an out-of-range value in
 *    any enum field is rejected with UPCONV_INVALID_ARGUMENT.
 */
#ifndef UPCONV_UPCONV_H
#define UPCONV_UPCONV_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Result of every fallible call. Mirrors upconv::StatusCode. */
typedef enum upconv_status {
  UPCONV_OK = 0,
  UPCONV_INVALID_ARGUMENT = 1,     /**< a parameter, shape or pointer is wrong; see the message */
  UPCONV_UNSUPPORTED = 2,          /**< valid, but not supported by the chosen backend / device */
  UPCONV_OUT_OF_MEMORY = 3,        /**< a host or device allocation failed */
  UPCONV_IO_ERROR = 4,             /**< a file could not be read or written */
  UPCONV_BACKEND_UNAVAILABLE = 5,  /**< the requested backend is not present on this machine */
  UPCONV_BACKEND_ERROR = 6,        /**< the driver reported an error */
  UPCONV_INTERNAL = 7,             /**< a bug in upconv */
  UPCONV_STATUS_MAX_ENUM = 0x7FFFFFFF  /**< forces a 32-bit enum; not a status */
} upconv_status;

/** Stable lower-case name of a status, e.g. "invalid_argument". Never NULL. */
const char* upconv_status_string(upconv_status status);

/** Message of the last failed call on this thread ("" if none). Valid until the next failing
 *  call on this thread. */
const char* upconv_last_error_message(void);

/** Library version "MAJOR.MINOR.PATCH". */
const char* upconv_version(void);

typedef struct upconv_context upconv_context;
typedef struct upconv_plan upconv_plan;

typedef enum upconv_backend {
  UPCONV_BACKEND_AUTO = 0,  /**< a GPU through Vulkan if there is one, else the CPU */
  UPCONV_BACKEND_CPU = 1,
  UPCONV_BACKEND_VULKAN = 2,
  UPCONV_BACKEND_MAX_ENUM = 0x7FFFFFFF
} upconv_backend;

typedef enum upconv_precision {
  UPCONV_PRECISION_FP32 = 0,
  UPCONV_PRECISION_FP16 = 1,
  UPCONV_PRECISION_MAX_ENUM = 0x7FFFFFFF
} upconv_precision;

typedef struct upconv_context_options {
  upconv_backend backend;          /**< default AUTO (UPCONV_BACKEND env overrides AUTO) */
  int num_threads;                 /**< CPU threads; 0 = UPCONV_NUM_THREADS or all hardware threads */
  int pin_threads;                 /**< non-zero: pin CPU workers to cores. Default 0 */
  upconv_precision precision;      /**< device storage precision. Default FP32 */
  const char* vulkan_device;       /**< NULL/"" = UPCONV_DEVICE or best; else index or name substring.
                                        Only read during upconv_context_create. */
  int vulkan_validation;           /**< non-zero: Khronos validation layer on. Default 0 */
  const char* pipeline_cache_path; /**< NULL/"" = in-memory pipeline cache only */
} upconv_context_options;

upconv_context_options upconv_context_options_default(void);

/** Creates a context. `options` may be NULL (defaults). On success *out receives the handle. */
upconv_status upconv_context_create(const upconv_context_options* options, upconv_context** out);
/** Destroys a context (NULL is ignored). Plans made from it stay valid. */
void upconv_context_destroy(upconv_context* context);
/** The backend in use (never AUTO); UPCONV_BACKEND_CPU for a NULL context. */
upconv_backend upconv_context_backend(const upconv_context* context);
/** Human-readable description, e.g. "cpu (avx512f, 2 threads)". Owned by the context. */
const char* upconv_context_description(const upconv_context* context);

typedef enum upconv_activation {
  UPCONV_ACTIVATION_NONE = 0,
  UPCONV_ACTIVATION_RELU = 1,
  UPCONV_ACTIVATION_LEAKY_RELU = 2,
  UPCONV_ACTIVATION_SIGMOID = 3,
  UPCONV_ACTIVATION_TANH = 4,
  UPCONV_ACTIVATION_MAX_ENUM = 0x7FFFFFFF
} upconv_activation;

/** conv1d / conv2d. Weight (C_out, C_in/groups, [kH,] kW). Per-axis arrays are {H, W}; for
 *  1-D (spatial_rank 1) only element [0] is used. */
typedef struct upconv_conv_params {
  int spatial_rank;            /**< 1 or 2. Default 2 */
  int64_t stride[2];           /**< >= 1. Default {1, 1} */
  int64_t dilation[2];         /**< >= 1. Default {1, 1} */
  int64_t pad_begin[2];        /**< >= 0. Default {0, 0} */
  int64_t pad_end[2];          /**< >= 0. Default {0, 0} */
  int64_t groups;              /**< >= 1, divides C_in and C_out. Default 1 */
  upconv_activation activation;/**< fused after the bias. Default NONE */
  float activation_alpha;      /**< leaky_relu slope. Default 0.01 */
} upconv_conv_params;

/** conv_transpose1d / conv_transpose2d. Weight (C_in, C_out/groups, [kH,] kW). */
typedef struct upconv_conv_transpose_params {
  int spatial_rank;
  int64_t stride[2];
  int64_t dilation[2];
  int64_t pad_begin[2];
  int64_t pad_end[2];
  int64_t output_padding[2];   /**< 0 <= output_padding < max(stride, dilation). Default {0, 0} */
  int64_t groups;
  upconv_activation activation;
  float activation_alpha;
} upconv_conv_transpose_params;

typedef enum upconv_shuffle_mode {
  UPCONV_SHUFFLE_CRD = 0,
  UPCONV_SHUFFLE_DCR = 1,
  UPCONV_SHUFFLE_MAX_ENUM = 0x7FFFFFFF
} upconv_shuffle_mode;

/** pixel_shuffle / pixel_unshuffle. */
typedef struct upconv_pixel_shuffle_params {
  int64_t factor;              /**< r >= 1. Default 2 */
  upconv_shuffle_mode mode;    /**< Default CRD (PyTorch) */
} upconv_pixel_shuffle_params;

/** max_unpool2d (PyTorch MaxUnpool2d). */
typedef struct upconv_max_unpool2d_params {
  int64_t kernel[2];           /**< Default {2, 2} */
  int64_t stride[2];           /**< 0 = same as kernel (default) */
  int64_t padding[2];          /**< Default {0, 0} */
  int has_output_size;         /**< non-zero: use output_size. Default 0 */
  int64_t output_size[2];      /**< explicit output (H, W) */
} upconv_max_unpool2d_params;

/** upsample_nearest2d / bed_of_nails2d. */
typedef struct upconv_upsample_params {
  int64_t factor[2];           /**< >= 1 per axis. Default {2, 2} */
} upconv_upsample_params;

upconv_conv_params upconv_conv_params_default(void);
upconv_conv_transpose_params upconv_conv_transpose_params_default(void);
upconv_pixel_shuffle_params upconv_pixel_shuffle_params_default(void);
upconv_max_unpool2d_params upconv_max_unpool2d_params_default(void);
upconv_upsample_params upconv_upsample_params_default(void);

/* Plan creation. Weights are copied at creation; the caller's arrays need not outlive the call.
 * `bias` may be NULL (no bias); otherwise it has `bias_count` elements (C_out). */
upconv_status upconv_plan_create_conv(upconv_context* context, const upconv_conv_params* params,
                                      const float* weight, const int64_t* weight_dims, int weight_rank,
                                      const float* bias, int64_t bias_count, upconv_plan** out);
upconv_status upconv_plan_create_conv_transpose(upconv_context* context, const upconv_conv_transpose_params* params,
                                                const float* weight, const int64_t* weight_dims, int weight_rank,
                                                const float* bias, int64_t bias_count, upconv_plan** out);
upconv_status upconv_plan_create_pixel_shuffle(upconv_context* context, const upconv_pixel_shuffle_params* params,
                                               upconv_plan** out);
upconv_status upconv_plan_create_pixel_unshuffle(upconv_context* context, const upconv_pixel_shuffle_params* params,
                                                 upconv_plan** out);
upconv_status upconv_plan_create_max_unpool2d(upconv_context* context, const upconv_max_unpool2d_params* params,
                                              upconv_plan** out);
upconv_status upconv_plan_create_upsample_nearest2d(upconv_context* context, const upconv_upsample_params* params,
                                                    upconv_plan** out);
upconv_status upconv_plan_create_bed_of_nails2d(upconv_context* context, const upconv_upsample_params* params,
                                                upconv_plan** out);
/** Destroys a plan (NULL is ignored). */
void upconv_plan_destroy(upconv_plan* plan);

/** Largest tensor rank the C ABI passes (output_dims arrays need this many entries). */
#define UPCONV_MAX_RANK 8

/** Output shape for an input shape: writes *output_rank dims (at most UPCONV_MAX_RANK) into
 *  output_dims. Fails naming the mismatch (e.g. the channel count). */
upconv_status upconv_plan_output_shape(const upconv_plan* plan, const int64_t* input_dims, int input_rank,
                                       int64_t* output_dims, int* output_rank);

/** Runs the plan. `output` has room for `output_capacity` floats, at least the element count of
 *  upconv_plan_output_shape(input_dims). Not for max_unpool2d (use upconv_plan_run_unpool). */
upconv_status upconv_plan_run(upconv_plan* plan, const float* input, const int64_t* input_dims, int input_rank,
                              float* output, int64_t output_capacity);
/** max_unpool2d: `indices` has the input's shape (flat index into each (n, c) output plane). */
upconv_status upconv_plan_run_unpool(upconv_plan* plan, const float* input, const int64_t* indices,
                                     const int64_t* input_dims, int input_rank, float* output,
                                     int64_t output_capacity);

/** Device time of the plan's last run in milliseconds (Vulkan timestamps), or -1 where the
 *  backend does not measure it (the CPU backend) or plan is NULL. */
double upconv_plan_last_device_time_ms(const upconv_plan* plan);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif /* UPCONV_UPCONV_H */
