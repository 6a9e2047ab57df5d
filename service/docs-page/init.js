// The /docs page: Swagger UI over this service's own OpenAPI document. No
// validator badge (it would send the document to validator.swagger.io); "Try it
// out" calls this service with the key given to "Authorize".
window.ui = SwaggerUIBundle({
  url: '/v1/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
});
