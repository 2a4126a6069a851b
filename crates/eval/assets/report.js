(function(){
function g(id){return document.getElementById(id);}
function rowsOf(t){return t&&t.tBodies.length?Array.prototype.slice.call(t.tBodies[0].rows):[];}
function debounce(f){var timer=0;return function(){clearTimeout(timer);timer=setTimeout(f,150);};}
var rows=rowsOf(g('answers-table'));
if(rows.length){
var q=g('f-q'),fm=g('f-model'),fs=g('f-suite'),fl=g('f-label'),fg=g('f-lang'),ff=g('f-fail'),cnt=g('f-count');
var txt=null;
var apply=function(){
var s=q.value.trim().toLowerCase(),m=fm.value,su=fs.value,l=fl.value,la=fg.value,f=ff.checked,shown=0;
if(s&&!txt){txt=rows.map(function(r){return r.textContent.toLowerCase();});}
for(var i=0;i<rows.length;i++){var r=rows[i],d=r.dataset;
var ok=(!m||d.m===m)&&(!su||d.s===su)&&(!l||d.l===l)&&(!la||d.g===la)&&(!f||d.v==='fail')&&(!s||txt[i].indexOf(s)>=0);
r.hidden=!ok;if(ok)shown++;}
cnt.textContent=shown+' of '+rows.length+' answers shown';
};
q.addEventListener('input',debounce(apply));
[fm,fs,fl,fg,ff].forEach(function(e){e.addEventListener('change',apply);});
apply();
}
var mrows=rowsOf(g('matrix-table'));
if(mrows.length){
var xq=g('x-q'),xf=g('x-fail'),xd=g('x-diff'),xc=g('x-count'),mtxt=null;
var applyMatrix=function(){
var re=null,src=xq.value.trim(),shown=0;
if(src){try{re=new RegExp(src,'i');}catch(e){xc.textContent='not a regular expression: '+e.message;return;}}
if(re&&!mtxt){mtxt=mrows.map(function(r){return r.textContent;});}
for(var i=0;i<mrows.length;i++){var r=mrows[i],d=r.dataset;
var ok=(!xf.checked||d.fail==='true')&&(!xd.checked||d.diff==='true')&&(!re||re.test(mtxt[i]));
r.hidden=!ok;if(ok)shown++;}
xc.textContent=shown+' of '+mrows.length+' questions shown';
};
xq.addEventListener('input',debounce(applyMatrix));
[xf,xd].forEach(function(e){e.addEventListener('change',applyMatrix);});
applyMatrix();
}
})();
