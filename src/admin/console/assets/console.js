// The console's entry: the sign-in form until a token is given, then the three panes (customers, blocks,
// traceback) with their refresh loops; a 401 from any call returns to the sign-in form with a message.
import { onUnauthorized, signIn, signOut, token } from './api.js';
import { blocksPane } from './blocks-pane.js';
import { customersPane } from './customers-pane.js';
import { showError } from './dom.js';
import { tracebackPane } from './traceback-pane.js';

const loginView = document.getElementById('login-view');
const consoleView = document.getElementById('console-view');
const loginForm = document.getElementById('login-form');
const loginError = document.getElementById('login-error');
const logout = document.getElementById('logout');

tracebackPane(document.getElementById('traceback'));
const loops = [
  blocksPane(document.getElementById('blocks')),
  customersPane(document.getElementById('customers')),
];

function show(signedIn, message) {
  loginView.hidden = signedIn;
  consoleView.hidden = !signedIn;
  logout.hidden = !signedIn;
  showError(loginError, message);
  for (const loop of loops) {
    if (signedIn) loop.start();
    else loop.stop();
  }
  if (!signedIn) loginForm.elements.token.focus();
}

loginForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const value = loginForm.elements.token.value.trim();
  loginForm.reset();
  signIn(value);
  show(true);
});

logout.addEventListener('click', () => {
  signOut();
  show(false);
});

onUnauthorized((message) => show(false, message));

show(token() !== null);
