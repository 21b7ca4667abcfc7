/* The C ABI compiled as C (not C++): seed 001's first worked example through a plan, and one
 * error path. Exit code 0 on success; prints what failed otherwise. */
#include <stdio.h>
#include <string.h>

#include "upconv/upconv.h"

#define CHECK(cond)                                              \
  do {                                                           \
    if (!(cond)) {                                               \
      fprintf(stderr, "%s:%d: check failed: %s (last error: %s)\n", __FILE__, __LINE__, #cond, \
              upconv_last_error_message());                      \
      return 1;                                                  \
    }                                                            \
  } while (0)

int main(void) {
  upconv_context_options options = upconv_context_options_default();
  options.backend = UPCONV_BACKEND_CPU;
  upconv_context* context = NULL;
  CHECK(upconv_context_create(&options, &context) == UPCONV_OK);
  CHECK(upconv_context_backend(context) == UPCONV_BACKEND_CPU);
  CHECK(strlen(upconv_context_description(context)) > 0);

  /* 2x2 input, 2x2 all-ones kernel, stride 1 -> 3x3 (seed 001, example 1). */
  const float x[4] = {1, 2, 3, 4};
  const int64_t x_dims[4] = {1, 1, 2, 2};
  const float w[4] = {1, 1, 1, 1};
  const int64_t w_dims[4] = {1, 1, 2, 2};
  upconv_conv_transpose_params params = upconv_conv_transpose_params_default();
  upconv_plan* plan = NULL;
  CHECK(upconv_plan_create_conv_transpose(context, &params, w, w_dims, 4, NULL, 0, &plan) == UPCONV_OK);
  upconv_context_destroy(context); /* the plan keeps what it needs alive */

  int64_t y_dims[UPCONV_MAX_RANK];
  int y_rank = 0;
  CHECK(upconv_plan_output_shape(plan, x_dims, 4, y_dims, &y_rank) == UPCONV_OK);
  CHECK(y_rank == 4 && y_dims[2] == 3 && y_dims[3] == 3);
  float y[9];
  CHECK(upconv_plan_run(plan, x, x_dims, 4, y, 9) == UPCONV_OK);
  const float expected[9] = {1, 3, 2, 4, 10, 6, 3, 7, 4};
  for (int i = 0; i < 9; ++i) CHECK(y[i] == expected[i]);
  CHECK(upconv_plan_run(plan, x, x_dims, 4, y, 8) == UPCONV_INVALID_ARGUMENT); /* too small */
  CHECK(upconv_plan_last_device_time_ms(plan) < 0); /* the CPU backend does not time on a device */
  upconv_plan_destroy(plan);

  /* A bad attribute fails with a message naming it. */
  params.stride[0] = 0;
  CHECK(upconv_context_create(&options, &context) == UPCONV_OK);
  CHECK(upconv_plan_create_conv_transpose(context, &params, w, w_dims, 4, NULL, 0, &plan) == UPCONV_INVALID_ARGUMENT);
  CHECK(plan == NULL);
  CHECK(strstr(upconv_last_error_message(), "stride") != NULL);
  CHECK(strcmp(upconv_status_string(UPCONV_INVALID_ARGUMENT), "invalid_argument") == 0);
  upconv_context_destroy(context);
  printf("c_api_smoke: ok (upconv %s)\n", upconv_version());
  return 0;
}
