/* Uses an installed upconv through the C ABI. */
#include <stdio.h>

#include "upconv/upconv.h"

int main(void) {
  upconv_context_options options = upconv_context_options_default();
  options.backend = UPCONV_BACKEND_CPU;
  upconv_context* context = NULL;
  if (upconv_context_create(&options, &context) != UPCONV_OK) return 1;
  printf("consumer_c: ok (%s)\n", upconv_context_description(context));
  upconv_context_destroy(context);
  return 0;
}
