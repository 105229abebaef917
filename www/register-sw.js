// Registers the service worker (offline use) and offers a reload when a new version is waiting.
if ('serviceWorker' in navigator && window.isSecureContext) {
  const offerUpdate = (registration) => {
    if (document.querySelector('[data-testid="update-notice"]')) return;
    const notice = document.createElement('div');
    notice.className = 'update-notice';
    notice.setAttribute('role', 'status');
    notice.dataset.testid = 'update-notice';
    notice.textContent = 'A new version of Atelier is ready. ';
    const button = document.createElement('button');
    button.textContent = 'Reload to update';
    button.addEventListener('click', () => registration.waiting?.postMessage('skip-waiting'));
    notice.append(button);
    document.body.prepend(notice);
  };
  navigator.serviceWorker.register('./sw.js').then((registration) => {
    if (registration.waiting && navigator.serviceWorker.controller) offerUpdate(registration);
    registration.addEventListener('updatefound', () => {
      const next = registration.installing;
      next?.addEventListener('statechange', () => {
        if (next.state === 'installed' && navigator.serviceWorker.controller) offerUpdate(registration);
      });
    });
  }).catch((error) => console.warn(`Offline use is unavailable: ${error}`));
  let reloading = false;
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (reloading || !document.querySelector('[data-testid="update-notice"]')) return;
    reloading = true;
    window.location.reload();
  });
}
