// The JavaScript halves of the handler pairs (suite_test.go has the Go halves).
'use strict';

class LambdaError extends Error {
  constructor(type, message) {
    super(message);
    this.name = type;
  }
}

// newHandlers returns fresh handlers (flaky counts calls per execution).
function newHandlers() {
  let calls = 0;
  return {
    echo: async (input) => input,
    add: async (input) => input.a + input.b,
    fail: async (input) => {
      throw new LambdaError(input.errorName, input.message);
    },
    flaky: async (input) => {
      calls++;
      if (calls <= input.failures) throw new LambdaError('TransientError', 'try again');
      return { attempts: calls };
    },
  };
}

module.exports = { newHandlers };
